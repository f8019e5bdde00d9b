package dev.etcdlock.internal.lock;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * FIFO admission of one process's waiters for one lock name on one session. etcd sees one waiter key per session
 * and name, so threads that share a session must take turns here first, or two of them would both "hold" the key
 * (as two goroutines on one Go session do). The monitor guards only the queue, never I/O.
 */
final class LocalGate {
    private final ArrayDeque<CompletableFuture<Void>> waiters = new ArrayDeque<>();
    private boolean taken;

    /** Completes when the caller is admitted; cancel it to stop waiting. */
    CompletableFuture<Void> enter() {
        synchronized (this) {
            if (!taken) {
                taken = true;
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> turn = new CompletableFuture<>();
            waiters.addLast(turn);
            return turn;
        }
    }

    /** Admits the caller only if nobody is admitted. */
    synchronized boolean tryEnter() {
        if (taken) {
            return false;
        }
        taken = true;
        return true;
    }

    /** Passes the turn to the next waiter that has not cancelled. */
    void leave() {
        while (true) {
            CompletableFuture<Void> next;
            synchronized (this) {
                next = waiters.pollFirst();
                if (next == null) {
                    taken = false;
                    return;
                }
            }
            if (next.complete(null)) {
                return;
            }
        }
    }
}
