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
}
