// seqrec-bench: SeqRec's benchmark tool (in-process latency, load generator, bandwidth probe).
// The commands live in the SeqRecBench library so `seqrec bench` can run the same code.
import CSeqRecCPU
import SeqRecBench

#if canImport(Glibc)
import Glibc
#endif

// First: SeqRecCore is compiled for SEQREC_ISA; on a CPU without it, say so instead of dying with SIGILL.
if seqrec_cpu_check("seqrec-bench") != 0 { exit(78) }
exit(BenchCommandLine.main(Array(CommandLine.arguments.dropFirst())))
