package dev.etcdlock.chaos.jepsen;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides whether a history is safe. The workers' only shared state is one counter, each incremented by
 * read-then-guarded-write under the lock, so every safety property shows up in the counter's values:
 *
 * <p>Each write also puts a marker key (per worker and operation) in the same guarded Txn, so after the run every
 * write whose outcome the worker could not know is resolved into applied or not.
 *
 * <ul>
 *   <li>no lost update: no two applied writes wrote the same value, none is above the final counter, every
 *       acknowledged write is applied; no phantom: every value up to the final counter was written by an applied
 *       write, and no write reported rejected or failed was applied;
 *   <li>fencing: in the order of the values (the order etcd applied them) the writers' tokens strictly increase;
 *   <li>mutual exclusion on one clock (CLOCK_MONOTONIC, shared by the worker JVMs): the next applied writer's
 *       {@code lock()} returned after the previous one sent its write (its key had to be gone first, and that
 *       happened after the write was applied);
 *   <li>a worker frozen past its TTL while holding, with no cluster fault at the same time, did not write: it saw
 *       its lock as lost or etcd rejected the write;
 *   <li>for every workload (the semaphore's two permits, the election's one term, the mutex): no more holders at
 *       once than it allows, among the clean holds, those whose release deleted the key (so it was theirs from
 *       before lock() returned until after the release began) and that heard of no loss. A hold that was lost may
 *       rightly have overlapped its successor (a frozen holder learns late), so it is left out.
 * </ul>
 */
final class Checker {
    /** A worker's SIGSTOP; {@code quiet} when no fault of the cluster overlapped it (such a fault can keep leases). */
    record Pause(int worker, long startMicros, long endMicros, boolean quiet) {
    }

    record Result(List<String> violations, long acquisitions, long okWrites, long rejected, long indeterminate,
            long indeterminateApplied, long failed, long pausedHolders, long pausedHoldersThatSawLoss,
            Map<String, Integer> events) {
        boolean safe() {
            return violations.isEmpty();
        }

        String summary() {
            return "acquisitions=" + acquisitions + " okWrites=" + okWrites + " rejectedWrites=" + rejected
                    + " indeterminateWrites=" + indeterminate + " (applied: " + indeterminateApplied + ")"
                    + " failedWrites=" + failed
                    + " holdersPausedPastTtl=" + pausedHolders + " (saw loss or rejected: " + pausedHoldersThatSawLoss
                    + ") events=" + events + " violations=" + violations.size();
        }
    }

    private Checker() {
    }

    static Result check(History history, long finalCounter, List<Pause> pauses, long ttlMicros) {
        List<String> violations = new ArrayList<>();
        // what was applied: the acknowledged writes and, when the marker keys were read, the in-doubt ones that
        // left their marker; every applied write took part in the lock's order
        List<History.Op> applied = new ArrayList<>(history.okWrites());
        if (history.markersKnown) {
            applied.addAll(history.appliedInDoubt());
            for (History.Op o : history.ops.values()) {
                boolean marked = history.applied.contains(o.id());
                if (o.ok() && !marked) {
                    violations.add("lost update: acknowledged write left no marker: " + o);
                } else if (marked && ("rejected".equals(o.outcome) || "failed".equals(o.outcome))) {
                    violations.add("phantom update: a write reported " + o.outcome + " was applied: " + o);
                }
            }
        }
        applied.sort(Comparator.comparingLong(o -> o.value));

        Map<Long, History.Op> byValue = new HashMap<>();
        for (History.Op o : applied) {
            History.Op other = byValue.putIfAbsent(o.value, o);
            if (other != null) {
                violations.add("lost update: value " + o.value + " written twice: " + other + " and " + o);
            }
            if (o.value > finalCounter) {
                violations.add("lost update: applied value " + o.value + " is above the final counter "
                        + finalCounter + ": " + o);
            }
        }
        Map<Long, History.Op> maybe = new HashMap<>();
        for (History.Op o : history.indeterminateWrites()) {
            maybe.putIfAbsent(o.value, o);
        }
        for (long v = 1; v <= finalCounter; v++) {
            if (!byValue.containsKey(v) && (history.markersKnown || !maybe.containsKey(v))) {
                violations.add("phantom update: the counter passed " + v + " but no write of " + v
                        + (history.markersKnown ? " was applied" : " was acknowledged or in doubt"));
            }
        }

        for (int i = 1; i < applied.size(); i++) {
            History.Op prev = applied.get(i - 1);
            History.Op next = applied.get(i);
            if (prev.value == next.value) {
                continue; // reported above
            }
            if (next.token <= prev.token) {
                violations.add("fencing: token did not increase from " + prev + " to " + next);
            }
            if (next.acquiredMicros <= prev.sentMicros) {
                violations.add("two holders: " + next + " held the lock before " + prev + " sent its write");
            }
        }
        if (history.events.containsKey("error")) {
            violations.add(history.events.get("error") + " unexpected exceptions in workers (see their histories)");
        }

        for (Workload w : Workload.values()) {
            tooManyHolders(history.of(w), w, violations);
        }

        long pausedHolders = 0;
        long sawLoss = 0;
        for (Pause p : pauses) {
            if (p.endMicros() - p.startMicros() <= ttlMicros + 1_000_000) {
                continue;
            }
            for (History.Op o : history.ops.values()) {
                if (o.worker != p.worker() || !o.wrote() || o.acquiredMicros >= p.startMicros()
                        || o.sentMicros <= p.endMicros()) {
                    continue;
                }
                pausedHolders++;
                if (!o.heldWhenSent || "rejected".equals(o.outcome)) {
                    sawLoss++;
                }
                if (p.quiet() && o.ok()) {
                    violations.add("a holder frozen for " + (p.endMicros() - p.startMicros()) / 1000
                            + " ms (TTL " + ttlMicros / 1000 + " ms) still wrote: " + o);
                }
            }
        }

        return new Result(violations, history.acquisitions().size(), history.okWrites().size(),
                history.count("rejected"), history.indeterminateWrites().size(), history.appliedInDoubt().size(),
                history.count("failed"), pausedHolders, sawLoss, history.events);
    }

    /** A sweep over the clean holds in the order their lock() returned, keeping those not yet released. */
    private static void tooManyHolders(List<History.Op> ops, Workload workload, List<String> violations) {
        List<History.Op> clean = ops.stream().filter(History.Op::cleanHold)
                .sorted(Comparator.comparingLong(o -> o.acquiredMicros)).toList();
        java.util.PriorityQueue<History.Op> holding = new java.util.PriorityQueue<>(
                Comparator.comparingLong(o -> o.releaseMicros));
        int reported = 0;
        for (History.Op h : clean) {
            while (!holding.isEmpty() && holding.peek().releaseMicros <= h.acquiredMicros) {
                holding.poll();
            }
            if (holding.size() >= workload.holders && reported++ < 20) {
                violations.add("too many holders of the " + workload.tag() + " (" + workload.holders + " allowed): "
                        + h + " acquired while " + holding + " held");
            }
            holding.add(h);
        }
    }
}
