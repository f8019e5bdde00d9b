package dev.etcdlock.chaos.jepsen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker must catch each kind of violation on a hand-made history, and pass a clean one. */
class CheckerTest {
    private static final long TTL = 3_000_000;

    /** worker, op, token, acquired, value, sent, outcome */
    private static History history(Object[]... ops) {
        History h = new History();
        for (Object[] o : ops) {
            String w = o[0] + "\t" + o[1] + "\t";
            h.add("A\t" + w + "7\t" + o[2] + "\t" + o[2] + "\t" + o[3]);
            if ((long) o[4] >= 0) {
                h.add("I\t" + w + o[4] + "\ttrue\t" + o[5]);
                if (o[6] != null) {
                    h.add("R\t" + w + o[6] + "\t" + ((long) o[5] + 10));
                }
            }
        }
        return h;
    }

    private static Object[] op(int worker, long op, long token, long acquired, long value, long sent, String outcome) {
        return new Object[] {worker, op, token, acquired, value, sent, outcome};
    }

    private static void assertViolation(List<String> violations, String fragment) {
        assertTrue(violations.stream().anyMatch(v -> v.contains(fragment)), () -> "no '" + fragment + "' in "
                + violations);
    }

    @Test
    void cleanHistoryPasses() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, "ok"),
                op(1, 2, 15, 300, 3, 310, "unknown"), op(2, 2, 17, 400, 3, 410, "ok"),
                op(1, 3, 19, 500, 4, 510, "rejected"));
        Checker.Result r = Checker.check(h, 3, List.of(), TTL);
        assertEquals(List.of(), r.violations());
        assertEquals(3, r.okWrites());
        assertEquals(1, r.indeterminate());
        assertEquals(1, r.rejected());
    }

    @Test
    void lostUpdateIsCaught() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 1, 210, "ok"));
        assertViolation(Checker.check(h, 1, List.of(), TTL).violations(), "lost update");
    }

    @Test
    void acknowledgedWriteMissingFromTheCounterIsCaught() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, "ok"));
        assertViolation(Checker.check(h, 1, List.of(), TTL).violations(), "above the final");
    }

    @Test
    void phantomIsCaught() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, "rejected"));
        assertViolation(Checker.check(h, 2, List.of(), TTL).violations(), "phantom");
    }

    @Test
    void writeWithoutResultCountsAsInDoubt() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, null));
        Checker.Result r = Checker.check(h, 2, List.of(), TTL);
        assertEquals(List.of(), r.violations());
        assertEquals(1, r.indeterminate());
    }

    @Test
    void tokenThatDoesNotIncreaseIsCaught() {
        History h = history(op(1, 1, 12, 100, 1, 110, "ok"), op(2, 1, 10, 200, 2, 210, "ok"));
        assertViolation(Checker.check(h, 2, List.of(), TTL).violations(), "fencing");
    }

    @Test
    void overlappingHoldersAreCaught() {
        History h = history(op(1, 1, 10, 100, 1, 150, "ok"), op(2, 1, 12, 140, 2, 210, "ok"));
        assertViolation(Checker.check(h, 2, List.of(), TTL).violations(), "two holders");
    }

    @Test
    void holderFrozenPastItsTtlThatStillWroteIsCaughtOnlyWhenTheClusterWasQuiet() {
        History h = history(op(1, 1, 10, 100, 1, 10_000_000, "ok"));
        List<Checker.Pause> quiet = List.of(new Checker.Pause(1, 1_000, 6_000_000, true));
        List<Checker.Pause> duringLeaderKill = List.of(new Checker.Pause(1, 1_000, 6_000_000, false));
        List<Checker.Pause> shortPause = List.of(new Checker.Pause(1, 1_000, 2_000_000, true));

        assertViolation(Checker.check(h, 1, quiet, TTL).violations(), "still wrote");
        assertEquals(List.of(), Checker.check(h, 1, duringLeaderKill, TTL).violations());
        assertEquals(0, Checker.check(h, 1, shortPause, TTL).pausedHolders());
    }

    @Test
    void frozenHolderWhoseWriteWasRejectedCountsAsHavingSeenTheLoss() {
        History h = history(op(1, 1, 10, 100, 1, 10_000_000, "rejected"));
        Checker.Result r = Checker.check(h, 0, List.of(new Checker.Pause(1, 1_000, 6_000_000, true)), TTL);
        assertEquals(List.of(), r.violations());
        assertEquals(1, r.pausedHolders());
        assertEquals(1, r.pausedHoldersThatSawLoss());
    }

    @Test
    void anInDoubtWriteThatWasAppliedIsCheckedLikeAnAcknowledgedOne() {
        // worker 2's write of 2 timed out but was applied (its marker is there); worker 1 then also wrote 2
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, "unknown"),
                op(1, 2, 15, 300, 2, 310, "ok"));
        h.markersKnown = true;
        h.applied.addAll(List.of("1-1", "2-1", "1-2"));
        assertViolation(Checker.check(h, 2, List.of(), TTL).violations(), "written twice");

        h.applied.remove("2-1"); // not applied after all: then the history is fine
        Checker.Result r = Checker.check(h, 2, List.of(), TTL);
        assertEquals(List.of(), r.violations());
        assertEquals(0, r.indeterminateApplied());
    }

    @Test
    void markersMustAgreeWithWhatTheWorkersWereTold() {
        History h = history(op(1, 1, 10, 100, 1, 110, "ok"), op(2, 1, 12, 200, 2, 210, "rejected"));
        h.markersKnown = true;
        h.applied.add("2-1");
        List<String> violations = Checker.check(h, 1, List.of(), TTL).violations();
        assertViolation(violations, "left no marker");
        assertViolation(violations, "reported rejected was applied");
    }

    /** A hold of {@code workload}: lock() returned at {@code acquired}, the release began at {@code released}. */
    private static void hold(History h, Workload workload, int worker, long op, long acquired, long released,
            String end, boolean lost) {
        String w = worker + "\t" + op + "\t" + workload.tag();
        h.add("W\t" + w + "\t7\t" + (acquired - 5));
        h.add("A\t" + worker + "\t" + op + "\t7\t" + (op + 10) + "\t" + (op + 10) + "\t" + acquired + "\t"
                + workload.tag());
        if (lost) {
            h.add("L\t" + w + "\tLockNotHeldException\tfalse\t" + (released - 1));
        }
        h.add("U\t" + w + "\t" + released + "\t" + !lost);
        h.add("X\t" + w + "\t" + end + "\t" + (released + 3));
    }

    @Test
    void moreHoldersThanTheSemaphoreAllowsAreCaught() {
        History h = new History();
        hold(h, Workload.SEMAPHORE, 1, 1, 100, 500, "released", false);
        hold(h, Workload.SEMAPHORE, 2, 1, 200, 600, "released", false);
        assertEquals(List.of(), Checker.check(h, 0, List.of(), TTL).violations(), "two permits, two holders");

        hold(h, Workload.SEMAPHORE, 3, 1, 300, 700, "released", false);
        assertViolation(Checker.check(h, 0, List.of(), TTL).violations(), "too many holders of the semaphore");
    }

    @Test
    void twoLeadersAtOnceAreCaughtButALostTermMayOverlapItsSuccessor() {
        History h = new History();
        hold(h, Workload.ELECTION, 1, 1, 100, 500, "notheld", true); // frozen, learnt late: may overlap
        hold(h, Workload.ELECTION, 2, 1, 200, 300, "released", false);
        assertEquals(List.of(), Checker.check(h, 0, List.of(), TTL).violations());

        hold(h, Workload.ELECTION, 3, 1, 250, 400, "released", false);
        assertViolation(Checker.check(h, 0, List.of(), TTL).violations(), "too many holders of the election");
    }

    @Test
    void aNameBlockedForLongerThanTheBoundAfterAHealIsCaught() {
        LivenessChecker.Bounds bounds = new LivenessChecker.Bounds(8_000_000, 10_000_000, 2_000_000);
        History h = new History();
        for (Workload w : Workload.values()) {
            hold(h, w, 1, 1, 1_000_000, 1_000_100, "released", false);
            hold(h, w, 1, 2, 20_000_000, 20_000_100, "released", false);
        }
        // 19 s between acquisitions: 1 s before the outage began, 6 s after it ended
        List<Nemesis.Window> outage = List.of(new Nemesis.Window(Nemesis.Fault.ALL_DOWN, "all", 2_000_000,
                14_000_000));
        LivenessChecker.Result ok = LivenessChecker.check(h, outage, List.of(), List.of(), 0, 25_000_000, bounds);
        assertEquals(List.of(), ok.violations());
        assertEquals(6_000_000, ok.longestGapMicros().get(Workload.MUTEX));

        // healed at 4 s: 16 s until the next acquisition
        List<Nemesis.Window> shortFault = List.of(new Nemesis.Window(Nemesis.Fault.KILL_MEMBER, "0", 2_000_000,
                4_000_000));
        assertViolation(LivenessChecker.check(h, shortFault, List.of(), List.of(), 0, 25_000_000, bounds)
                .violations(), "no election acquisition for 16000 ms");
        // blocked for 11 s before a fault began
        List<Nemesis.Window> late = List.of(new Nemesis.Window(Nemesis.Fault.KILL_MEMBER, "0", 12_000_000,
                19_000_000));
        assertViolation(LivenessChecker.check(h, late, List.of(), List.of(), 0, 25_000_000, bounds).violations(),
                "no mutex acquisition for 11000 ms");
        // nothing in the last 10 s of the run
        assertViolation(LivenessChecker.check(h, outage, List.of(), List.of(), 0, 30_000_000, bounds).violations(),
                "(the workers' end)");
        // faults back to back: what happens between two of them is not blamed on the lock
        List<Nemesis.Window> two = List.of(new Nemesis.Window(Nemesis.Fault.KILL_MEMBER, "0", 2_000_000, 6_000_000),
                new Nemesis.Window(Nemesis.Fault.KILL_MEMBER, "1", 16_000_000, 18_000_000));
        assertEquals(List.of(), LivenessChecker.check(h, two, List.of(), List.of(), 0, 25_000_000, bounds)
                .violations());
    }

    @Test
    void aKeyThatOutlivesEveryAttemptOfItsLeaseIsAnOrphan() {
        LivenessChecker.Bounds bounds = new LivenessChecker.Bounds(100_000_000, 10_000_000, 2_000_000);
        History h = new History();
        for (Workload w : Workload.values()) {
            hold(h, w, 1, 1, 1_000_000, 2_000_000, "released", false);
        }
        List<KeyAuditor.Observation> seen = new java.util.ArrayList<>();
        for (long t = 1_500_000; t < 30_000_000; t += 500_000) {
            // lease 7's key: seen while its attempt ran, then for 28 s after it ended
            seen.add(new KeyAuditor.Observation(t, t + 1_000, Workload.SEMAPHORE, "/jepsen/semaphore/7", 7, 42));
        }
        LivenessChecker.Result r = LivenessChecker.check(h, List.of(), seen, List.of(), 0, 0, bounds);
        assertViolation(r.violations(), "orphan: /jepsen/semaphore/7");

        List<KeyAuditor.Observation> deletedSoon = seen.stream().filter(o -> o.sentMicros() < 8_000_000).toList();
        LivenessChecker.Result fine = LivenessChecker.check(h, List.of(), deletedSoon, List.of(), 0, 0, bounds);
        assertEquals(List.of(), fine.violations());
        assertTrue(fine.longestOrphanMicros() > 4_500_000 && fine.longestOrphanMicros() < 6_000_000,
                () -> "measured " + fine.longestOrphanMicros());

        List<KeyAuditor.Observation> foreign = List.of(new KeyAuditor.Observation(1, 2, Workload.MUTEX,
                "/jepsen/lock/99", 99, 50));
        assertViolation(LivenessChecker.check(h, List.of(), foreign, List.of(), 0, 0, bounds).violations(),
                "belongs to no attempt");

        // the session's next attempt does not adopt the leftover of the last one: its clock runs from that one's end
        hold(h, Workload.SEMAPHORE, 1, 2, 3_000_000, 60_000_000, "released", false);
        assertViolation(LivenessChecker.check(h, List.of(), seen, List.of(), 0, 0, bounds).violations(),
                "orphan: /jepsen/semaphore/7");
    }

    @Test
    void aStruckHolderMustHearOfItsLossInTime() {
        LivenessChecker.Bounds bounds = new LivenessChecker.Bounds(100_000_000, 10_000_000, 2_000_000);
        History h = new History();
        h.add("W\t1\t1\tmutex\t7\t900000");
        h.add("A\t1\t1\t7\t11\t11\t1000000\tmutex");
        h.add("K\t1\t1\tmutex\t1000100");
        h.add("Q\t1\t1\tmutex\t1290000");
        h.add("L\t1\t1\tmutex\tLeaseLostException\tfalse\t1300000");
        h.add("W\t2\t1\telection\t8\t900000");
        h.add("A\t2\t1\t8\t12\t12\t1000000\telection");
        h.add("K\t2\t1\telection\t1000100");
        h.add("L\t2\t1\telection\tLockNotHeldException\ttrue\t9000000"); // late, and isHeld() never false
        List<Nemesis.Strike> strikes = List.of(
                new Nemesis.Strike(1, Workload.MUTEX, 1, Nemesis.Fault.REVOKE_HOLDER_LEASE, "/jepsen/lock/7",
                        1_100_000),
                new Nemesis.Strike(2, Workload.ELECTION, 1, Nemesis.Fault.DELETE_HOLDER_KEY, "/jepsen/election/8",
                        1_100_000),
                new Nemesis.Strike(3, Workload.SEMAPHORE, 4, Nemesis.Fault.DELETE_HOLDER_KEY, "/jepsen/semaphore/9",
                        1_100_000));
        LivenessChecker.Result r = LivenessChecker.check(h, List.of(), List.of(), strikes, 0, 0, bounds);
        assertEquals(List.of(200_000L, 7_900_000L), r.reportMicros());
        List<String> told = r.violations().stream().filter(v -> v.startsWith("told:")).toList();
        assertViolation(told, "only 7900 ms later");
        assertViolation(told, "isHeld() was still true");
        assertViolation(told, "still said isHeld() at the end");
        assertViolation(told, "no holder waiting");
        assertEquals(4, told.size(), told::toString);
    }
}
