// The versions the server serves, by model name (docs/OPERATIONS.md §11): each loaded version
// lives in a numbered slot (the index the queues, request slots and runners use), counted by the
// requests in flight on it. A version retired by a reload keeps its slot until its last request
// has ended, so requests finish on the version they started on; then the slot is released and may
// be reused under a new generation. Part of the core's state: used only with the server's lock.
import SeqRecProtocol

/// A version the model set cannot take or cannot find; the message says what to do.
package struct ModelSetError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Kind: Sendable, Equatable { case notFound, invalid, incompatible }
    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

package struct ModelSet {
    package struct Slot {
        package let loaded: LoadedVersion
        /// Index of its model (name) in `models`.
        package let model: Int
        package let generation: UInt32
        /// Requests queued or running on this version.
        package var inFlight = 0
        /// No longer routed to or listed; released when `inFlight` reaches 0.
        package var retired = false
        /// Its operations metrics series (0 = unattributed, before operations are attached).
        package var metricsSeries = 0
    }

    package struct Model {
        package let name: String
        package let salt: UInt64
        /// Serving (not retired) versions, ascending, with their slot.
        package var versions: [(version: UInt32, slot: Int)] = []
        package var routing = TrafficRouting()
        /// Earlier routings, newest last (rollback pops one).
        package var history: [TrafficRouting] = []
    }

    package private(set) var slots: [Slot?] = []
    /// Models in the order they were first loaded; model 0 answers requests with an empty name.
    package private(set) var models: [Model] = []
    private var names: [String: Int] = [:]
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    /// Versions whose last request ended since `takeReleased` was last called.
    private var released: [LoadedVersion] = []
    /// Counts slot releases: runners compare it to know when to drop workers of released versions.
    package private(set) var releaseCount = 0
    package let maxNameBytes: Int
    /// Most history entries kept per model.
    package static let historyLimit = 16

    package init(maxNameBytes: Int) { self.maxNameBytes = maxNameBytes }

    // MARK: lookups (the request path: no allocation)

    /// The model a request names; the empty name is model 0.
    package func model(named name: String) -> Int? {
        if name.isEmpty { return models.isEmpty ? nil : 0 }
        return names[name]
    }

    package func slot(model: Int, version: UInt32) -> Int? {
        for entry in models[model].versions where entry.version == version { return entry.slot }
        return nil
    }

    /// The version requests without a key get: the pinned default while it is loaded, else the newest.
    package func defaultVersion(model: Int) -> UInt32? {
        let entry = models[model]
        if let pinned = entry.routing.pinnedDefault, slot(model: model, version: pinned) != nil { return pinned }
        return entry.versions.last?.version
    }

    /// The slot of the version a request for version 0 goes to (nil: the model has no version loaded).
    package func route(model: Int, sessionKey: [UInt8]) -> Int? {
        let entry = models[model]
        if let version = entry.routing.splitVersion(forKey: sessionKey, salt: entry.salt),
           let slot = slot(model: model, version: version)
        {
            return slot
        }
        return defaultVersion(model: model).flatMap { slot(model: model, version: $0) }
    }

    package subscript(slot: Int) -> LoadedVersion { slots[slot]!.loaded }

    package func generation(ofSlot slot: Int) -> UInt32? { slot < slots.count ? slots[slot]?.generation : nil }

    package func metricsSeries(ofSlot slot: Int) -> Int { slots[slot]?.metricsSeries ?? 0 }

    /// Every serving version, model by model, ascending.
    package var serving: [(slot: Int, loaded: LoadedVersion)] {
        models.flatMap { model in model.versions.map { ($0.slot, slots[$0.slot]!.loaded) } }
    }

    /// What MODEL_LIST says: every serving version; `isDefault` marks what an empty request gets
    /// without a session key (model 0's default version).
    package func descriptions(named name: String = "") -> [ModelDescription] {
        var list: [ModelDescription] = []
        for (index, model) in models.enumerated() where name.isEmpty || model.name == name {
            let preferred = index == 0 ? defaultVersion(model: 0) : nil
            for entry in model.versions {
                var description = slots[entry.slot]!.loaded.info
                description.isDefault = entry.version == preferred
                list.append(description)
            }
        }
        return list
    }

    // MARK: changes (reloads, admin calls)

    /// Publishes a loaded version and returns its slot. A model name seen for the first time becomes a
    /// new model, routed to its newest version.
    package mutating func add(_ loaded: LoadedVersion) throws(ModelSetError) -> Int {
        let name = loaded.name
        guard !name.isEmpty else { throw ModelSetError(.invalid, "a model needs a non-empty name") }
        guard name.utf8.count <= maxNameBytes else {
            throw ModelSetError(.invalid, "model name '\(name.prefix(40))…' is \(name.utf8.count) bytes; names are at "
                + "most \(maxNameBytes): give it a shorter one with --model NAME=FILE or rename its directory")
        }
        guard loaded.version > 0 else {
            throw ModelSetError(.invalid, "model '\(name)': version 0 means 'the default' in requests; versions are 1 or more")
        }
        let model: Int
        if let existing = names[name] {
            model = existing
            guard slot(model: model, version: loaded.version) == nil else {
                throw ModelSetError(.invalid, "model '\(name)' version \(loaded.version) is loaded twice; give "
                    + "each file its own name (--model NAME=FILE) or its own version directory")
            }
        } else {
            model = models.count
            names[name] = model
            models.append(Model(name: name, salt: TrafficRouting.salt(forModel: name)))
        }
        let index: Int
        if let reused = freeSlots.popLast() {
            index = reused
        } else {
            index = slots.count
            slots.append(nil)
            generations.append(0)
        }
        generations[index] &+= 1
        slots[index] = Slot(loaded: loaded, model: model, generation: generations[index])
        models[model].versions.append((loaded.version, index))
        models[model].versions.sort { $0.version < $1.version }
        return index
    }

    package mutating func setMetricsSeries(_ series: Int, ofSlot slot: Int) { slots[slot]?.metricsSeries = series }

    /// Stops routing to `version`; it is released once its requests have ended (maybe at once).
    package mutating func retire(model: Int, version: UInt32) {
        guard let index = models[model].versions.firstIndex(where: { $0.version == version }) else { return }
        let slot = models[model].versions.remove(at: index).slot
        slots[slot]!.retired = true
        releaseIfIdle(slot)
    }

    /// Replaces a model's routing, remembering the previous one for rollback.
    package mutating func setRouting(_ routing: TrafficRouting, model: Int) {
        guard routing != models[model].routing else { return }
        models[model].history.append(models[model].routing)
        if models[model].history.count > Self.historyLimit { models[model].history.removeFirst() }
        models[model].routing = routing
    }

    /// Remembers `routing` as the one before the current (a reload moved the unpinned default).
    package mutating func pushHistory(_ routing: TrafficRouting, model: Int) {
        models[model].history.append(routing)
        if models[model].history.count > Self.historyLimit { models[model].history.removeFirst() }
    }

    /// Sets routing and history as they were saved (start-up), without adding to the history.
    package mutating func restoreRouting(_ routing: TrafficRouting, history: [TrafficRouting], model: Int) {
        models[model].routing = routing
        models[model].history = Array(history.suffix(Self.historyLimit))
    }

    /// Restores the routing before the last change; nil when there is none.
    package mutating func rollBack(model: Int) -> TrafficRouting? {
        guard let previous = models[model].history.popLast() else { return nil }
        models[model].routing = previous
        return previous
    }

    // MARK: request accounting

    package mutating func began(_ slot: Int) { slots[slot]!.inFlight += 1 }

    package mutating func ended(_ slot: Int) {
        guard slots[slot] != nil else { return }
        slots[slot]!.inFlight -= 1
        releaseIfIdle(slot)
    }

    private mutating func releaseIfIdle(_ slot: Int) {
        guard let entry = slots[slot], entry.retired, entry.inFlight == 0 else { return }
        released.append(entry.loaded)
        slots[slot] = nil
        freeSlots.append(slot)
        releaseCount += 1
    }

    /// Hands over the versions released since the last call (to be dropped off the serving path).
    package mutating func takeReleased(into list: inout [LoadedVersion]) {
        list.append(contentsOf: released)
        released.removeAll(keepingCapacity: true)
    }
}
