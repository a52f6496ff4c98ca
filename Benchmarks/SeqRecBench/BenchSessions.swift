/// The benchmarks' deterministic sessions, shared with Benchmarks/pycompare/workloads.py so that
/// SeqRec, ONNX Runtime and PyTorch score the very same inputs.
public enum BenchSessions {
    /// Item of session `session` at `position`: ids in firstItem ..< firstItem + itemCount (the
    /// RecBole and pmixer families start at 1 because 0 is PAD; gru4rec-official starts at 0).
    public static func item(session: Int, position: Int, itemCount: Int, firstItem: Int) -> Int32 {
        precondition(itemCount > 0, "sessions need a non-empty catalog")
        return Int32(firstItem + (position &* 7919 &+ session &* 104_729 &+ 17) % itemCount)
    }
}
