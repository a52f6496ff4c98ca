// seqrec-bench: SeqRec's benchmark tool (in-process latency, load generator, bandwidth probe).
// The commands live in the SeqRecBench library so `seqrec bench` can run the same code.
import SeqRecBench

#if canImport(Glibc)
import Glibc
#endif

exit(BenchCommandLine.main(Array(CommandLine.arguments.dropFirst())))
