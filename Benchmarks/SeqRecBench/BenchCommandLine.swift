import Foundation

/// The `seqrec-bench` command line: `seqrec-bench <command> [--option value …]`.
public enum BenchCommandLine {
    public static let usage = """
    usage: seqrec-bench <command> [options]

    commands:
      inprocess  --model <file.seqrec> [--batch 1] [--k 10] [--kernels auto|blas|simd|naive|simd-avx512|simd-avx2|simd-portable]
                 [--session-length 50] [--warmup 100] [--iterations 5000] [--max-seconds 3]
                 [--min-iterations 20] [--repeats 3] [--format json|text]
                 [--state-cache-mb 0] [--sessions fixed|growing]
                 one configuration in-process: p50/p90/p99/p99.9 over many calls after warm-up,
                 heap allocations per request (counted by the malloc interposer); GRU state cache
                 off by default (full forward pass per call); growing sessions add one item per call
      suite      --models <dir> [--batches 1,8,32,64] [--kernels blas,simd] [--repeats 3]
                 [--json <file>] [--csv <file>]
                 every *.seqrec in <dir> × batch × kernel path; a table, JSON and CSV
      bandwidth  [--rows 1000000] [--dim 64] [--repeats 5] [--format json|text]
                 memory-bandwidth probe: stream an R×D f32 table, dot each row with a vector
      load       [--host 127.0.0.1] [--port 7878] [--mode closed|open|sweep] [--rate 1000[,…]]
                 [--connections 64] [--depth 1] [--warmup 1] [--duration 10]
                 [--fractions 0.1,0.3,0.5,0.7,0.9] [--items 1682] [--first-item 1]
                 [--session-length 50] [--k 10] [--model-name ""]
                 [--json <file>] [--csv <file>] [--svg <file>] [--svg-load <file>] [--latency-log <file>]
                 load generator against `seqrec serve` (open loop: latency from the scheduled
                 send time, one run per rate; closed loop: each connection keeps --depth requests
                 in flight; sweep: closed loop for the maximum, then open loop at those fractions);
                 it repeats 64 fixed sessions, so start the server with --state-cache-mb 0 to measure
                 full forward passes rather than the GRU/SASRec state cache (Benchmarks/run-load does)
      clickstream [--host 127.0.0.1] [--port 7878] [--admin-port N] [--sessions 200] [--clicks 30]
                 [--connections 4] [--items 1682] [--first-item 1] [--k 10] [--model-name ""] [--json <file>]
                 [--first-session 0]
                 click streams against `seqrec serve`: every session grows one click per round, the
                 whole session sent each time, sessions spread over the connections (one request in
                 flight each); throughput, latency and, with --admin-port, how many of the resumable
                 requests (clicks after a session's first) the server's state cache resumed
      kernels    [--rows 1,50] [--shapes 64x64,64x256,256x64,64x384,128x384] [--iterations 2000]
                 the models' linear-map GEMMs (K×N weights) on BLAS and SIMD, with weights in
                 PyTorch layout and pre-transposed: median and best µs per call
      metrics    [--iterations 2000000] [--repeats 5] [--batch 8]
                 cost of the server's per-request metrics updates (ns over an empty loop, alone and
                 with a concurrent scraper) and their heap allocations
      metrics-server --model <file.seqrec> [--connections 8] [--depth 1] [--warmup 1] [--duration 3]
                 [--rounds 3] [--workers 1]
                 the same counting through the server: two in-process servers of the model, one
                 counting as `seqrec serve` does, one without metrics, the same closed-loop load
                 against each in alternation (throughput, p50, p99)
      catalogue  --model <file.seqrec> [--requests 300] [--repeats 3] [--unavailable 10] [--k 10]
                 [--update-interval-ms 1000] [--update-requests 1000] [--state-dir <dir>] [--bulk-rounds 1]
                 item-attribute filters (10 % unavailable + a category rule) against unfiltered B=1
                 requests, the time of a 10,000-item bulk update (whole and by part), and request p99
                 with one such update per interval and with updates back to back
      answers    --model <file.seqrec> [--session-length 50] [--k 10] [--pool 200] [--lambda 0.7]
                 [--sessions 16] [--repeats 5] [--iterations 2000] [--max-seconds 1] [--state-cache-mb 0]
                 cost of MMR (top pool → k) and of explanations (leave-one-out) per B=1 request, side
                 by side with the plain request in the same run, with heap allocations
      open       --model <file.seqrec> [--repeats 5] [--cold yes|no]
                 time to open (every format check) and to load to ready, page cache warm and cold
                 (this file's pages dropped before each cold run), the I/O alone, and the warm open's
                 checksum and finiteness passes alone
    """

    /// Runs one command; returns the process exit status. Errors go to stderr with the usage.
    public static func main(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 2
        }
        let options = Array(arguments.dropFirst())
        do {
            switch command {
            case "inprocess": print(try InProcessCommand.run(options))
            case "suite": print(try SuiteCommand.run(options))
            case "bandwidth": print(try BandwidthCommand.run(options))
            case "load": print(try LoadCommand.run(options))
            case "kernels": print(try KernelsCommand.run(options))
            case "metrics": print(try MetricsCommand.run(options))
            case "clickstream": print(try ClickStreamCommand.run(options))
            case "metrics-server": print(try MetricsServerCommand.run(options))
            case "catalogue": print(try CatalogueCommand.run(options))
            case "answers": print(try AnswersCommand.run(options))
            case "open": print(try OpenCommand.run(options))
            case "help", "--help", "-h": print(usage)
            default:
                printError("unknown command '\(command)'\n\n" + usage)
                return 2
            }
            return 0
        } catch let error as BenchUsageError {
            printError("seqrec-bench \(command): \(error.description)\n\n" + usage)
            return 2
        } catch {
            printError("seqrec-bench \(command): \(error)")
            return 1
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
