// Journal compaction off the update path (docs/OPERATIONS.md §12.3). Rewriting a million-item overlay
// takes hundreds of milliseconds; under the writer lock it stalled every PATCH behind it and, on a
// two-core machine, took a core from the requests in one burst. Now a batch that brings the journal
// past `compactionBytes` only rotates it (journal.jsonl → journal.compacting.jsonl, a new empty
// journal; renames and directory fsyncs, under the lock), and a background thread at nice 10 copies
// the records out in chunks (each under the lock for about a millisecond), encodes and writes the new
// overlay outside the lock, and then removes the rotated journal.
// Durability: every update in the rotated journal was applied before the rotation, so the overlay holds
// it; a record copied after later batches holds some of the new journal's updates too, which replaying
// the new journal over it sets again (updates set fields: replay is idempotent). A crash before the
// overlay's rename leaves the old overlay and both journals, replayed in order at start; after it,
// the rotated journal is replayed over an overlay that already holds it. Nothing acknowledged is lost.
import Foundation
import SeqRecPosix

extension ItemCatalogue {
    /// Records copied per lock hold.
    static let compactionChunk = 8192

    /// Under the lock, after a batch: rotates the journal and starts the background compaction when the
    /// journal is due and none is running. A failed rotation leaves the journal as it is (retried after
    /// the next `compactionBytes`); the batch is durable either way.
    func startCompactionIfDue(_ state: inout State) {
        guard let journal = state.journal, !state.compacting, journal.journalBytes >= state.nextCompaction else { return }
        do {
            if !journal.hasRotated { try journal.rotate() }   // else a failed compaction's rotated journal is still there
        } catch {
            state.nextCompaction = journal.journalBytes + compactionBytes
            return
        }
        state.compacting = true
        let thread = Thread { [self] in compactInBackground(journal) }
        thread.name = "seqrec-compact"
        thread.start()
    }

    private func compactInBackground(_ journal: AttributeJournal) {
        try? ThreadScheduling.normal(nice: 10).apply()   // best effort: at worst it competes at normal priority
        var text: [UInt8] = []
        var next = 0, done = false
        while !done {
            let (chunk, tokens) = state.withLock { state in
                let end = min(next + Self.compactionChunk, state.items.count)
                defer { next = end }
                return (Array(state.items[next..<end]), Array(state.tokens[next..<end]))
            }
            Self.appendOverlay(of: chunk[...], tokens: tokens, to: &text)
            done = chunk.count < Self.compactionChunk
        }
        let written = (try? journal.finishCompaction(overlay: text)) != nil
        state.withLock { state in
            if written { journal.rotatedJournalRemoved() }
            state.nextCompaction = written ? compactionBytes : journal.journalBytes + compactionBytes
            state.compacting = false
        }
    }

    /// Waits until no compaction runs (tests).
    func waitForCompaction() {
        while state.withLock({ $0.compacting }) { usleep(1000) }
    }
}
