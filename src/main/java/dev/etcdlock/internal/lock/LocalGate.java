package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * FIFO admission of one process's waiters for one lock name on one session. etcd sees one waiter key per session
 * and name, so threads that share a session must take turns here first, or two of them would both "hold" the key
 * (as two goroutines on one Go session do). The monitor guards only the queue, never I/O.
 */
final class LocalGate {
    /** The waiter key prefix every user of this gate asks for: a session takes one place per queue at a time. */
    final ByteString keyPrefix;
    private ArrayDeque<CompletableFuture<Void>> waiters; // made when a second thread comes: most gates never need it
    private boolean taken;
    /** Attempts and holders using this gate; changed only inside the owning map's compute, which drops it at 0. */
    int users;

    LocalGate(ByteString keyPrefix) {
        this.keyPrefix = keyPrefix;
    }

    /** Completes when the caller is admitted; cancel it to stop waiting. */
    CompletableFuture<Void> enter() {
        synchronized (this) {
            if (!taken) {
                taken = true;
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> turn = new CompletableFuture<>();
            if (waiters == null) {
                waiters = new ArrayDeque<>(2);
            }
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
                next = waiters == null ? null : waiters.pollFirst();
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
