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
 * <ul>
 *   <li>no lost update: no two acknowledged writes wrote the same value, none is above the final counter, and every
 *       value up to the final counter was written by an acknowledged or indeterminate write (no phantom);
 *   <li>fencing: in the order of the values (the order etcd applied them) the writers' tokens strictly increase;
 *   <li>mutual exclusion on one clock: the next acknowledged writer's {@code lock()} returned after the previous
 *       one sent its write (its key had to be gone first, and that happened after the write was applied);
 *   <li>a worker frozen past its TTL while holding, with no cluster fault at the same time, did not write: it saw
 *       its lock as lost or etcd rejected the write.
 * </ul>
 */
final class Checker {
    /** A worker's SIGSTOP; {@code quiet} when no fault of the cluster overlapped it (such a fault can keep leases). */
    record Pause(int worker, long startMicros, long endMicros, boolean quiet) {
    }

    record Result(List<String> violations, long acquisitions, long okWrites, long rejected, long indeterminate,
            long failed, long pausedHolders, long pausedHoldersThatSawLoss, Map<String, Integer> events) {
        boolean safe() {
            return violations.isEmpty();
        }

        String summary() {
            return "acquisitions=" + acquisitions + " okWrites=" + okWrites + " rejectedWrites=" + rejected
                    + " indeterminateWrites=" + indeterminate + " failedWrites=" + failed
                    + " holdersPausedPastTtl=" + pausedHolders + " (saw loss or rejected: " + pausedHoldersThatSawLoss
                    + ") events=" + events + " violations=" + violations.size();
        }
    }

    private Checker() {
    }

    static Result check(History history, long finalCounter, List<Pause> pauses, long ttlMicros) {
        List<String> violations = new ArrayList<>();
        List<History.Op> ok = new ArrayList<>(history.okWrites());
        ok.sort(Comparator.comparingLong(o -> o.value));

        Map<Long, History.Op> byValue = new HashMap<>();
        for (History.Op o : ok) {
            History.Op other = byValue.putIfAbsent(o.value, o);
            if (other != null) {
                violations.add("lost update: value " + o.value + " acknowledged twice: " + other + " and " + o);
            }
            if (o.value > finalCounter) {
                violations.add("lost update: acknowledged value " + o.value + " is above the final counter "
                        + finalCounter + ": " + o);
            }
        }
        Map<Long, History.Op> maybe = new HashMap<>();
        for (History.Op o : history.indeterminateWrites()) {
            maybe.putIfAbsent(o.value, o);
        }
        for (long v = 1; v <= finalCounter; v++) {
            if (!byValue.containsKey(v) && !maybe.containsKey(v)) {
                violations.add("phantom update: the counter passed " + v + " but no write of " + v
                        + " was acknowledged or in doubt");
            }
        }

        for (int i = 1; i < ok.size(); i++) {
            History.Op prev = ok.get(i - 1);
            History.Op next = ok.get(i);
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

        return new Result(violations, history.acquisitions().size(), ok.size(), history.count("rejected"),
                history.indeterminateWrites().size(), history.count("failed"), pausedHolders, sawLoss,
                history.events);
    }
}
