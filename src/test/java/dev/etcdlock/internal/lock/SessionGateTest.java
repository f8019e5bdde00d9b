package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SessionGateTest {

    @Test
    void admitsOneAtATimeInArrivalOrder() {
        SessionLocks.Gate gate = new SessionLocks.Gate(ByteString.copyFromUtf8("/gate/"));
        CompletableFuture<Void> first = gate.enter();
        assertTrue(first.isDone());
        List<Integer> admitted = new ArrayList<>();
        List<CompletableFuture<Void>> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int n = i;
            CompletableFuture<Void> turn = gate.enter();
            turn.thenRun(() -> admitted.add(n));
            waiting.add(turn);
        }
        assertFalse(gate.tryEnter(), "taken");
        assertEquals(List.of(), admitted);
        gate.leave();
        assertEquals(List.of(0), admitted);
        gate.leave();
        gate.leave();
        assertEquals(List.of(0, 1, 2), admitted);
        gate.leave();
        assertTrue(gate.tryEnter(), "free again once everybody left");
    }

    @Test
    void cancelledWaitersAreSkipped() {
        SessionLocks.Gate gate = new SessionLocks.Gate(ByteString.copyFromUtf8("/gate/"));
        gate.enter();
        CompletableFuture<Void> gaveUp = gate.enter();
        CompletableFuture<Void> next = gate.enter();
        assertTrue(gaveUp.cancel(false));
        gate.leave();
        assertTrue(next.isDone() && !next.isCancelled(), "the turn skips the cancelled waiter");
        gate.leave();
        assertTrue(gate.tryEnter());
    }
}
