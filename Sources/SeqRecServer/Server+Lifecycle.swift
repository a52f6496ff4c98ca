// The model lifecycle on a running server (docs/OPERATIONS.md §11): reloading the repository,
// traffic splits and rollback. Loading and warming run on the lifecycle thread without the
// server's lock; publishing the result (add the new versions, retire the old ones) is one short
// critical section, so a switch is atomic for requests. Routing changes are written to the state
// directory before they are acknowledged.
import Foundation
import SeqRecOperations
import SeqRecProtocol

extension Server {
    // MARK: reload

    /// Queues a reload on the lifecycle thread; `completion` runs there when it is done.
    public func requestReload(model: String? = nil,
                              completion: @escaping @Sendable (Result<LifecycleReport, LifecycleFailure>) -> Void = { _ in }) {
        lifecycle.submit { [self] in completion(reloadRepository(model: model)) }
    }

    /// Rescans the repository and makes the served versions what the policies (and the routings) want.
    /// Call on the lifecycle thread: it loads and warms for as long as that takes.
    func reloadRepository(model only: String?) -> Result<LifecycleReport, LifecycleFailure> {
        guard let root = configuration.modelRepository else {
            return .failure(LifecycleFailure(.failedPrecondition, "this server serves --model files; reloading needs "
                + "--model-repository DIR (docs/OPERATIONS.md §11.2)"))
        }
        let scan = Self.scanRepository(root)
        var report = LifecycleReport()
        report.skipped = scan.skipped
        // What is served now, and what routings name, by model (a snapshot: only this thread publishes).
        let (loaded, routed) = monitor.withLock { () -> ([String: [UInt32]], [String: [UInt32]]) in
            var loaded: [String: [UInt32]] = [:]
            var routed: [String: [UInt32]] = [:]
            for model in core.models.models {
                loaded[model.name] = model.versions.map(\.version)
                routed[model.name] = model.routing.versions
            }
            return (loaded, routed)
        }
        if let only, scan.models[only] == nil, loaded[only] == nil {
            return .failure(LifecycleFailure(.notFound, "no model named '\(only.prefix(100))' is loaded or in \(root)"))
        }
        var wanted: [String: [UInt32]] = [:]
        var fresh: [LoadedVersion] = []
        for name in Set(scan.models.keys).union(loaded.keys).sorted() where only == nil || only == name {
            let onDisk = scan.versions(of: name)
            let current = loaded[name] ?? []
            guard !onDisk.isEmpty else {
                if !current.isEmpty {
                    report.skipped.append("\(root)/\(name): no versions on disk; the loaded versions keep serving")
                }
                continue
            }
            let policy = configuration.versionPolicies[name] ?? .default
            let want = Set(policy.select(from: onDisk)).union((routed[name] ?? []).filter { current.contains($0) || onDisk.contains($0) })
            guard !want.isEmpty else {
                // `specific` naming versions that are not on disk: never unload a model to nothing.
                report.skipped.append("\(root)/\(name): policy \(policy) selects none of the versions on disk "
                    + "(\(onDisk.map(String.init).joined(separator: ", "))); the loaded versions keep serving")
                continue
            }
            wanted[name] = want.sorted()
            for version in want.sorted() where !current.contains(version) {
                do {
                    let path = scan.models[name]![version]!
                    // The heavy part on the SCHED_IDLE loader thread; publishing stays on this one.
                    let loaded = try loader.perform { [opener = openVersion] in
                        Result { () throws(VersionLoadError) in try opener(path, name, version) }
                    }.get()
                    do {
                        // Item attributes before it serves; a name seen for the first time gets its
                        // catalogue here (ItemCatalogues.swift). Without them it must not serve.
                        try catalogues?.attach(loaded.backend)
                    } catch {
                        report.refused.append(RefusedVersion(model: name, version: version,
                                                             reason: VersionLoadError.Reason.unreadable.rawValue, message: error.message))
                        loader.submit { withExtendedLifetime(loaded) {} }   // dropped off the serving path
                        continue
                    }
                    fresh.append(loaded)
                } catch {
                    report.refused.append(RefusedVersion(model: name, version: version, reason: error.reason.rawValue,
                                                         message: error.message))
                }
            }
        }
        publish(fresh, wanted: wanted, report: &report)
        return .success(report)
    }

    /// One critical section: adds the fresh versions, retires what no model wants any more (only for
    /// models whose wanted versions all loaded: a refused new version leaves the old ones serving).
    private func publish(_ fresh: [LoadedVersion], wanted: [String: [UInt32]], report: inout LifecycleReport) {
        var historyChanged = false
        routingWrites.withLock {
            monitor.withLock {
                let defaultsBefore = core.models.models.indices.map { core.models.defaultVersion(model: $0) }
                for version in fresh {
                    if let problem = incompatibility(of: version) {
                        report.refused.append(RefusedVersion(model: version.name, version: version.version,
                                                             reason: VersionLoadError.Reason.incompatible.rawValue, message: problem))
                        graveyard.append(version)
                        continue
                    }
                    do throws(ModelSetError) {
                        let slot = try core.models.add(version)
                        core.queues.ensureQueues(count: core.models.slots.count)
                        if let registry = core.operations?.registry {
                            let info = version.info
                            let series = (try? registry.series(model: info.name, version: info.version, family: info.family)) ?? 0
                            core.models.setMetricsSeries(series, ofSlot: slot)
                        }
                        report.loaded.append("\(version.name)@\(version.version)")
                    } catch {
                        report.refused.append(RefusedVersion(model: version.name, version: version.version,
                                                             reason: VersionLoadError.Reason.incompatible.rawValue,
                                                             message: error.message))
                        graveyard.append(version)
                    }
                }
                for (name, want) in wanted {
                    guard let model = core.models.model(named: name) else { continue }
                    let serving = core.models.models[model].versions.map(\.version)
                    guard want.allSatisfy(serving.contains) else { continue }
                    for version in serving where !want.contains(version) {
                        core.models.retire(model: model, version: version)
                        report.retired.append("\(name)@\(version)")
                    }
                }
                // A reload that moved an unpinned default (a new newest version) can be rolled back.
                for (model, before) in defaultsBefore.enumerated() {
                    guard let before, core.models.defaultVersion(model: model) != before,
                          core.models.models[model].routing == TrafficRouting() else { continue }
                    core.models.pushHistory(TrafficRouting(pinnedDefault: before), model: model)
                    historyChanged = true
                }
                core.metrics?.count(.modelVersionsLoaded, report.loaded.count)
                core.metrics?.count(.modelVersionsRefused, report.refused.count)
                disposeReleased()
                monitor.broadcast()
            }
            if historyChanged { try? persistRoutings() }
        }
        logReload(report, fresh: fresh)
    }

    /// Why `version` cannot join the served set, or nil. The request pool's buffers and the id space
    /// clients use were fixed by the versions served so far.
    private func incompatibility(of version: LoadedVersion) -> String? {
        let info = version.info
        if Int(info.embeddingWidth) > core.limits.maxEmbeddingWidth {
            return "\(info.name) v\(info.version): embedding width \(info.embeddingWidth) exceeds \(core.limits.maxEmbeddingWidth), "
                + "the widest this server was started with; restart the server to serve it"
        }
        if let model = core.models.model(named: info.name), let newest = core.models.models[model].versions.last,
           core.models[newest.slot].info.hasVocabulary != info.hasVocabulary
        {
            return "\(info.name) v\(info.version) \(info.hasVocabulary ? "has" : "has no") vocabulary but v\(newest.version) "
                + "\(info.hasVocabulary ? "has none" : "has one"): clients' item ids would change meaning"
        }
        return nil
    }

    private func logReload(_ report: LifecycleReport, fresh: [LoadedVersion]) {
        guard let operations = monitor.withLock({ core.operations }) else { return }
        for version in fresh where report.loaded.contains("\(version.name)@\(version.version)") {
            operations.modelLoaded(Self.metrics(of: version))
        }
        for retired in report.retired {
            operations.log.log(.info, "model_retired", [("model", .string(retired))])
        }
        for refused in report.refused {
            operations.log.log(.error, "model_version_refused", [
                ("model", .string(refused.model)), ("version", .int(Int(refused.version))),
                ("reason", .string(refused.reason)), ("message", .string(refused.message)),
            ])
        }
        for skipped in report.skipped {
            operations.log.log(.warning, "repository_skipped", [("message", .string(skipped))])
        }
    }

    static func scanRepository(_ root: String) -> RepositoryScan {
        ModelRepository.scan(root: root, list: { path in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            return try? FileManager.default.contentsOfDirectory(atPath: path)
        }, isFile: { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        })
    }

    /// Logs and counts what loading the repository at start skipped or refused (after `attach`).
    public func logStartupReport() {
        monitor.withLock { core.metrics?.count(.modelVersionsRefused, startupReport.refused.count) }
        logReload(startupReport, fresh: [])
    }

    // MARK: traffic

    package func trafficState(model name: String) -> Result<TrafficState, LifecycleFailure> {
        monitor.withLock {
            guard let model = core.models.model(named: name), !name.isEmpty else {
                return .failure(LifecycleFailure(.notFound, "no model named '\(name.prefix(100))'; GET /v1/models lists them"))
            }
            return .success(state(of: model))
        }
    }

    /// Lock held.
    private func state(of model: Int) -> TrafficState {
        let entry = core.models.models[model]
        let pinned = entry.routing.pinnedDefault
        let effective = core.models.defaultVersion(model: model)
        return TrafficState(model: entry.name, loadedVersions: entry.versions.map(\.version), defaultVersion: effective,
                            pinned: pinned != nil && pinned == effective, shares: entry.routing.split,
                            rollbackDepth: entry.history.count)
    }

    package func setTraffic(model name: String, _ update: TrafficUpdate) -> Result<TrafficState, LifecycleFailure> {
        changeRouting(model: name) { (model: Int) throws(LifecycleFailure) in
            var routing = core.models.models[model].routing
            routing.split = update.shares.sorted { $0.version < $1.version }
            switch update.defaultVersion {
            case .keep: break
            case .unpin: routing.pinnedDefault = nil
            case .pin(let version): routing.pinnedDefault = version
            }
            let serving = core.models.models[model].versions.map(\.version)
            if let missing = routing.versions.first(where: { !serving.contains($0) }) {
                throw LifecycleFailure(.failedPrecondition, "model '\(name.prefix(100))' has no version \(missing) loaded "
                    + "(loaded: \(serving.map(String.init).joined(separator: ", "))); load it first (version policy, reload)")
            }
            core.models.setRouting(routing, model: model)
        }
    }

    package func rollBack(model name: String) -> Result<TrafficState, LifecycleFailure> {
        changeRouting(model: name) { (model: Int) throws(LifecycleFailure) in
            guard let previous = core.models.models[model].history.last else {
                throw LifecycleFailure(.failedPrecondition, "model '\(name.prefix(100))' has no earlier routing to roll back to")
            }
            let serving = core.models.models[model].versions.map(\.version)
            if let missing = previous.versions.first(where: { !serving.contains($0) }) {
                throw LifecycleFailure(.failedPrecondition, "the previous routing of '\(name.prefix(100))' sends traffic to "
                    + "version \(missing), which is no longer loaded; keep it loaded (version policy latest:2 or specific) "
                    + "and reload, or PUT a split")
            }
            _ = core.models.rollBack(model: model)
        }
    }

    /// Applies `change` under the lock, persists every routing, and undoes the change when it could
    /// not be persisted (an acknowledged change must survive a crash).
    private func changeRouting(model name: String, _ change: (Int) throws(LifecycleFailure) -> Void)
        -> Result<TrafficState, LifecycleFailure>
    {
        routingWrites.withLock {
            let outcome = monitor.withLock { () -> Result<(Int, ModelSet.Model), LifecycleFailure> in
                guard !name.isEmpty, let model = core.models.model(named: name) else {
                    return .failure(LifecycleFailure(.notFound, "no model named '\(name.prefix(100))'; GET /v1/models lists them"))
                }
                let before = core.models.models[model]
                do throws(LifecycleFailure) {
                    try change(model)
                } catch {
                    return .failure(error)
                }
                return .success((model, before))
            }
            let model: Int
            let before: ModelSet.Model
            switch outcome {
            case .failure(let failure): return .failure(failure)
            case .success(let changed): (model, before) = changed
            }
            do throws(RoutingStoreError) {
                try persistRoutings()
            } catch {
                monitor.withLock { core.models.restoreRouting(before.routing, history: before.history, model: model) }
                return .failure(LifecycleFailure(.internal, "the routing was not changed: \(error.message)"))
            }
            return .success(monitor.withLock { state(of: model) })
        }
    }

    /// Writes every model's routing to the state directory (no-op without one). `routingWrites` held.
    func persistRoutings() throws(RoutingStoreError) {
        guard let routingStore else { return }
        let routings = monitor.withLock {
            Dictionary(uniqueKeysWithValues: core.models.models.map {
                ($0.name, SavedRouting(routing: $0.routing, history: $0.history))
            })
        }
        try routingStore.save(routings)
    }
}
