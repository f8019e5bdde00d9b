package dev.etcdlock.chaos.jepsen;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides whether a run kept its names usable and its holders informed:
 *
 * <ul>
 *   <li>progress: for each workload, an acquisition within {@link Bounds#acquireMicros} of the previous one when no
 *       fault came between them, else within that bound of the last fault's end (after every heal), and no more
 *       than that bound without one before the next fault began (the name was blocked before it). From the start of
 *       the run to the workers' end. Workers always want the name, so a gap means it was blocked: by a key nobody
 *       deletes, a waiter that missed its turn, a session stuck on a lost lease;
 *   <li>no orphan: every version of a key under a name (one create revision) belongs to an attempt: the one that
 *       acquired it (its fencing token is the create revision), else the attempt of its lease that had started when
 *       it was first seen. Once that attempt is over (its release done, or its wait given up), the version is gone
 *       within {@link Bounds#orphanMicros} of fault-free time (a window of the nemesis does not count: during an
 *       outage nothing can be deleted): the session janitor's retries, the replay guard, the revoke of a lease lost
 *       only locally, the TTL of a crashed worker. An attempt whose worker was killed never ends;
 *   <li>told at once: a holder whose lease was revoked or whose key was deleted from outside has its lost()
 *       completed within {@link Bounds#reportMicros}, with isHeld() false by then.
 * </ul>
 */
final class LivenessChecker {
    record Bounds(long acquireMicros, long orphanMicros, long reportMicros) {
    }

    record Result(List<String> violations, Map<Workload, Long> longestGapMicros, long longestOrphanMicros,
            List<Long> reportMicros, int keysSeen, int strikes) {
        String summary() {
            List<Long> sorted = reportMicros.stream().sorted().toList();
            String reports = sorted.isEmpty() ? "none" : "median " + sorted.get(sorted.size() / 2) / 1000
                    + " ms, max " + sorted.get(sorted.size() - 1) / 1000 + " ms over " + sorted.size();
            Map<Workload, Long> gapsMs = new EnumMap<>(Workload.class);
            longestGapMicros.forEach((w, g) -> gapsMs.put(w, g / 1000));
            return "longest time without an acquisition, faults not counted (ms) " + gapsMs + "; key versions seen "
                    + keysSeen + ", longest fault-free time one outlived its attempt " + longestOrphanMicros / 1000
                    + " ms; holders struck " + strikes + ", loss reported: " + reports + "; violations "
                    + violations.size();
        }
    }

    private final List<long[]> faults; // merged [start, end] of the nemesis' windows, in order

    private LivenessChecker(List<Nemesis.Window> windows) {
        List<long[]> sorted = new ArrayList<>();
        windows.stream().sorted(Comparator.comparingLong(Nemesis.Window::startMicros))
                .forEach(w -> sorted.add(new long[] {w.startMicros(), w.endMicros()}));
        List<long[]> merged = new ArrayList<>();
        for (long[] w : sorted) {
            if (!merged.isEmpty() && w[0] <= merged.get(merged.size() - 1)[1]) {
                long[] last = merged.get(merged.size() - 1);
                last[1] = Math.max(last[1], w[1]);
            } else {
                merged.add(w.clone());
            }
        }
        this.faults = merged;
    }

    /** Fault-free time between {@code from} and {@code to}. */
    long faultFree(long from, long to) {
        if (to <= from) {
            return 0;
        }
        long t = to - from;
        for (long[] w : faults) {
            long overlap = Math.min(to, w[1]) - Math.max(from, w[0]);
            if (overlap > 0) {
                t -= overlap;
            }
        }
        return t;
    }

    /**
     * @param fromMicros when the workers were started: the first acquisitions are due within the bound from then
     * @param untilMicros a little before the workers' deadline: the last gap ends there
     */
    static Result check(History history, List<Nemesis.Window> windows, List<KeyAuditor.Observation> audit,
            List<Nemesis.Strike> strikes, long fromMicros, long untilMicros, Bounds bounds) {
        LivenessChecker c = new LivenessChecker(windows);
        List<String> violations = new ArrayList<>();
        Map<Workload, Long> gaps = c.progress(history, fromMicros, untilMicros, bounds, violations);
        long orphan = c.orphans(history, audit, bounds, violations);
        List<Long> reports = reports(history, strikes, bounds, violations);
        int keys = (int) audit.stream().map(o -> o.key() + "@" + o.createRevision()).distinct().count();
        return new Result(violations, gaps, orphan, reports, keys, strikes.size());
    }

    /**
     * The time a name went without an acquisition that the run can blame on the lock: from the previous acquisition
     * to the next one, or to the start of the first fault between them, and from the end of the last fault between
     * them to the next one. Whatever happened between two faults is left out (recovery from the first may run into
     * the second).
     */
    long[] blamedGaps(long previous, long next) {
        long firstStart = -1;
        long lastEnd = -1;
        for (long[] w : faults) {
            if (w[1] > previous && w[0] < next) {
                if (firstStart < 0) {
                    firstStart = Math.max(previous, w[0]);
                }
                lastEnd = Math.min(next, w[1]);
            }
        }
        return firstStart < 0 ? new long[] {next - previous} : new long[] {firstStart - previous, next - lastEnd};
    }

    private Map<Workload, Long> progress(History history, long fromMicros, long untilMicros, Bounds bounds,
            List<String> violations) {
        Map<Workload, Long> longest = new EnumMap<>(Workload.class);
        for (Workload w : Workload.values()) {
            List<Long> times = new ArrayList<>();
            times.add(fromMicros);
            history.of(w).stream().filter(History.Op::acquired).map(o -> o.acquiredMicros)
                    .filter(t -> t >= fromMicros && t <= untilMicros).sorted().forEach(times::add);
            times.add(untilMicros);
            long max = 0;
            int reported = 0;
            for (int i = 1; i < times.size(); i++) {
                for (long gap : blamedGaps(times.get(i - 1), times.get(i))) {
                    max = Math.max(max, gap);
                    if (gap > bounds.acquireMicros() && reported++ < 10) {
                        violations.add("progress: no " + w.tag() + " acquisition for " + gap / 1000 + " ms between "
                                + times.get(i - 1) + " and " + times.get(i) + (i == times.size() - 1
                                        ? " (the workers' end)" : "") + ", not counting faults (bound "
                                + bounds.acquireMicros() / 1000 + " ms)");
                    }
                }
            }
            longest.put(w, max);
        }
        return longest;
    }

    private long orphans(History history, List<KeyAuditor.Observation> audit, Bounds bounds,
            List<String> violations) {
        Map<String, List<History.Op>> byLease = new HashMap<>();
        for (History.Op o : history.ops.values()) {
            if (o.attemptMicros >= 0) {
                byLease.computeIfAbsent(o.workload + "/" + o.lease, k -> new ArrayList<>()).add(o);
            }
        }
        byLease.values().forEach(ops -> ops.sort(Comparator.comparingLong(o -> o.attemptMicros)));
        Map<String, List<KeyAuditor.Observation>> byVersion = new HashMap<>();
        for (KeyAuditor.Observation o : audit) {
            byVersion.computeIfAbsent(o.key() + "@" + o.createRevision(), k -> new ArrayList<>()).add(o);
        }
        long longest = 0;
        int reported = 0;
        for (List<KeyAuditor.Observation> seen : byVersion.values()) {
            seen.sort(Comparator.comparingLong(KeyAuditor.Observation::sentMicros));
            KeyAuditor.Observation first = seen.get(0);
            History.Op owner = owner(byLease.get(first.workload() + "/" + first.lease()), first);
            if (owner == null) {
                if (reported++ < 20) {
                    violations.add("orphan: " + first.key() + " (lease " + Long.toHexString(first.lease())
                            + ", create revision " + first.createRevision() + ") belongs to no attempt of any worker");
                }
                continue;
            }
            if (owner.endMicros < 0) {
                continue; // its attempt never ended: still running, or its worker was killed (the TTL frees it)
            }
            long unowned = 0;
            KeyAuditor.Observation last = null;
            for (KeyAuditor.Observation o : seen) {
                if (o.sentMicros() > owner.endMicros) {
                    unowned = faultFree(owner.endMicros, o.sentMicros());
                    last = o;
                }
            }
            longest = Math.max(longest, unowned);
            if (unowned > bounds.orphanMicros() && reported++ < 20) {
                violations.add("orphan: " + last.key() + " (lease " + Long.toHexString(last.lease())
                        + ", create revision " + last.createRevision() + ") was still there " + unowned / 1000
                        + " ms of fault-free time after its attempt ended (bound " + bounds.orphanMicros() / 1000
                        + " ms, seen until " + last.answeredMicros() + "): " + owner + ", ended " + owner.end);
            }
        }
        return longest;
    }

    /**
     * The attempt a key version belongs to: the one that acquired it, else the last one of its lease that had started
     * when the version was first seen (the version was created by it, or by an earlier one of the lease whose
     * leftover it is: then blaming the later one only gives the session more time).
     */
    private static History.Op owner(List<History.Op> ofLease, KeyAuditor.Observation first) {
        if (ofLease == null) {
            return null;
        }
        History.Op started = null;
        for (History.Op o : ofLease) {
            if (o.acquired() && o.token == first.createRevision()) {
                return o;
            }
            if (o.attemptMicros <= first.answeredMicros()) {
                started = o;
            }
        }
        return started;
    }

    private static List<Long> reports(History history, List<Nemesis.Strike> strikes, Bounds bounds,
            List<String> violations) {
        List<Long> delays = new ArrayList<>();
        for (Nemesis.Strike s : strikes) {
            History.Op struck = history.ops.get(s.worker() + "/" + s.workload().tag() + "/" + s.op());
            if (struck == null || struck.strikeMicros < 0) {
                violations.add("told: no holder waiting for " + s);
                continue;
            }
            if (struck.lostMicros < 0) {
                violations.add("told: " + struck + " never heard that " + s.fault() + " took " + s.key());
                continue;
            }
            long delay = struck.lostMicros - s.micros();
            delays.add(delay);
            if (delay > bounds.reportMicros()) {
                violations.add("told: " + struck + " heard of " + s.fault() + " only " + delay / 1000 + " ms later "
                        + "(bound " + bounds.reportMicros() / 1000 + " ms)");
            }
            if (struck.heldWhenLost) {
                violations.add("told: isHeld() was still true when lost() failed: " + struck);
            }
            long notHeld = struck.notHeldMicros - s.micros();
            if (struck.notHeldMicros < 0 || notHeld > bounds.reportMicros()) {
                violations.add("told: " + struck + " still said isHeld() " + (struck.notHeldMicros < 0 ? "at the end"
                        : notHeld / 1000 + " ms") + " after " + s.fault() + " (bound " + bounds.reportMicros() / 1000
                        + " ms)");
            }
        }
        return delays;
    }
}
