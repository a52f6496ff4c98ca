import CSeqRecCPU
import CSeqRecKernels
import Foundation
@testable import SeqRecCore
import Testing

/// The start-up CPU check (Sources/CSeqRecCPU) and JSONL output that stays JSON whatever the weights do.
@Suite("seqrec: CPU check and JSON output")
struct PortabilityAndOutputTests {
    static func missing(_ level: Int32, _ words: seqrec_cpuid_words) -> (count: Int32, names: String) {
        var words = words
        var buffer = [CChar](repeating: 0, count: 512)
        let count = seqrec_isa_missing(level, &words, &buffer, buffer.count)
        return (count, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// A Haswell-class CPU with an AVX-enabling OS: everything of x86-64-v3, nothing of v4.
    static let haswell = seqrec_cpuid_words(
        max_leaf: 13, leaf1_ecx: 1 << 0 | 1 << 9 | 1 << 12 | 1 << 13 | 1 << 19 | 1 << 20 | 1 << 22 | 1 << 23 | 1 << 27 | 1 << 28 | 1 << 29,
        leaf7_ebx: 1 << 3 | 1 << 5 | 1 << 8, ext1_ecx: 1 << 0 | 1 << 5, xcr0: 0b111, leaf7_ecx: 0, leaf7_1_eax: 0)

    @Test func levelsAreCheckedFeatureByFeature() {
        #expect(Self.missing(3, Self.haswell).count == 0)
        #expect(Self.missing(2, Self.haswell).count == 0)
        let v4 = Self.missing(4, Self.haswell)
        #expect(v4.count == 8 && v4.names.hasPrefix("avx512f avx512dq"))

        var noAVX2 = Self.haswell
        noAVX2.leaf7_ebx &= ~(1 << 5)
        #expect(Self.missing(3, noAVX2) == (1, "avx2"))
        var osWithoutAVX = Self.haswell
        osWithoutAVX.xcr0 = 0b011   // the OS does not save YMM state: AVX is unusable
        #expect(Self.missing(3, osWithoutAVX) == (1, "os-avx-state"))
        var lowLeaf = Self.haswell
        lowLeaf.max_leaf = 6        // leaf 7 absent: its bits mean nothing
        #expect(Self.missing(3, lowLeaf) == (3, "bmi1 avx2 bmi2"))
        let nothing = Self.missing(3, seqrec_cpuid_words())
        #expect(nothing.count == 18 && nothing.names.hasPrefix("sse3 ssse3 cx16"))
        #expect(Self.missing(1, seqrec_cpuid_words()).count == 0, "x86-64 itself needs nothing beyond the architecture")
    }

    /// The kernels' run-time level (CSeqRecKernels/cpu.c) is decided from the same words: AVX2 needs FMA,
    /// AVX and ymm state; AVX-512 needs F/DQ/BW/VL and the OS saving opmask and zmm state.
    @Test func kernelLevelsComeFromTheSameWords() {
        var haswell = Self.haswell
        #expect(seqrec_cpu_level_of(&haswell) == SEQREC_CPU_AVX2)
        var skylakeX = Self.haswell
        skylakeX.leaf7_ebx |= 1 << 16 | 1 << 17 | 1 << 30 | 1 << 31
        skylakeX.xcr0 = 0xE7
        #expect(seqrec_cpu_level_of(&skylakeX) == SEQREC_CPU_AVX512)
        var zmmStateHidden = skylakeX
        zmmStateHidden.xcr0 = 0b111    // e.g. a hypervisor that does not save zmm state
        #expect(seqrec_cpu_level_of(&zmmStateHidden) == SEQREC_CPU_AVX2)
        var noBW = skylakeX
        noBW.leaf7_ebx &= ~(1 << 30)
        #expect(seqrec_cpu_level_of(&noBW) == SEQREC_CPU_AVX2)
        var noFMA = Self.haswell
        noFMA.leaf1_ecx &= ~(1 << 12)
        #expect(seqrec_cpu_level_of(&noFMA) == SEQREC_CPU_PORTABLE)
        var lowLeaf = Self.haswell
        lowLeaf.max_leaf = 6           // leaf 7 absent: no AVX2
        #expect(seqrec_cpu_level_of(&lowLeaf) == SEQREC_CPU_PORTABLE)
        var nothing = seqrec_cpuid_words()
        #expect(seqrec_cpu_level_of(&nothing) == SEQREC_CPU_PORTABLE)
        var thisCPU = seqrec_cpuid_words()
        seqrec_cpuid_read(&thisCPU)
        #expect(seqrec_cpu_level_of(&thisCPU) == seqrec_cpu_level())
    }

    @Test func theListOfMissingFeaturesIsTruncatedSafely() {
        var words = seqrec_cpuid_words()
        var tiny = [CChar](repeating: 0x7F, count: 6)
        #expect(seqrec_isa_missing(4, &words, &tiny, tiny.count) == 26)
        #expect(tiny.contains(0), "always NUL-terminated")
    }

    @Test func thisMachineRunsWhatWasBuilt() {
        let level = seqrec_required_isa_level()
        var words = seqrec_cpuid_words()
        seqrec_cpuid_read(&words)
        #expect(Self.missing(level, words).count == 0, "the test binary itself runs, so the check must pass")
        #expect(seqrec_cpu_check("test") == 0)
        #if arch(x86_64)
        #expect((1...4).contains(level), "x86-64 builds name their level (SEQREC_ISA)")
        #endif
    }

    /// A model whose finite weights overflow Float: some scores are ±∞ or NaN. `recommend --format jsonl`
    /// must still print JSON, and no non-finite score may reach the answer (issue 11 item 5).
    @Test func overflowingScoresNeverReachJSONL() throws {
        let source = try CommandLineTests.converted("gru4rec-official-ml100k-separate")
        defer { try? FileManager.default.removeItem(atPath: source) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        let table = try #require(try ModelFile.open(path: source).tensors.first { $0.name == "Wy.weight" })
        let width = table.shape[1]
        for (row, value) in [(5, Float.greatestFiniteMagnitude), (6, -Float.greatestFiniteMagnitude)] {
            for column in 0..<width {
                let at = Int(table.offset) + (row * width + column) * 4
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(at..<at + 4, with: $0) }
            }
        }
        ModelFileWriter.resealChecksums(&bytes)
        let model = CommandLineTests.temporary("overflow.seqrec")
        try Data(bytes).write(to: URL(fileURLWithPath: model))
        defer { try? FileManager.default.removeItem(atPath: model) }

        let sessions: [[Int32]] = [[0, 5, 9], [12, 7], [3], [100, 200, 300, 400]]
        let recommender = try Recommender(path: model)
        let raw = try sessions.map { try recommender.makeContext().rawScores(session: $0) }
        try #require(raw.contains { !$0[5].isFinite || !$0[6].isFinite }, "the edit makes some score non-finite")

        let input = CommandLineTests.temporary("overflow.jsonl")
        let lines = sessions.map { #"{"session": \#($0), "k": 1000, "embedding": true}"# }
        try lines.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let run = try CommandLineTests.run(["recommend", "--model", model, "--input", input, "--format", "jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        let output = run.stdout.split(separator: "\n").map(String.init)
        #expect(output.count == sessions.count)
        for (line, scores) in zip(output, raw) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line.prefix(200))")
            let items = try #require(object["items"] as? [NSNumber]).map(\.intValue)
            let printed = try #require(object["scores"] as? [NSNumber]).map(\.floatValue)
            #expect(printed.allSatisfy { $0.isFinite })
            let finite = scores.indices.filter { scores[$0].isFinite }
            #expect(items.count == min(1000, finite.count), "every finite item is eligible, no other")
            #expect(Set(items).isSubset(of: Set(finite)))
        }
    }
}
