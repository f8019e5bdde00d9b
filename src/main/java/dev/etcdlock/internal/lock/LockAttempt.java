package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lease.Lease;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * One call to lock: first the turn at the session's local gate, then the place in etcd's queue. {@link #abort()}
 * undoes whichever stage it is in, removing the waiter key, unless the lock was acquired first.
 */
public final class LockAttempt {
    private enum Stage { AT_GATE, IN_QUEUE, DONE, ABORTED }

    private final LockQueue queue;
    private final LocalGate gate;
    private final ByteString prefix;
    private final Lease lease;
    private final CompletableFuture<LockQueue.Held> result = new CompletableFuture<>();
    private final CompletableFuture<Void> turn;
    private Stage stage = Stage.AT_GATE; // guarded by this; no I/O under it
    private LockQueue.Acquisition acquisition;

    private final Set<LockQueue.Acquisition> waiting;

    LockAttempt(LockQueue queue, LocalGate gate, ByteString prefix, Lease lease,
            Set<LockQueue.Acquisition> waiting) {
        this.queue = queue;
        this.waiting = waiting;
        this.gate = gate;
        this.prefix = prefix;
        this.lease = lease;
        this.turn = gate.enter();
        turn.thenRun(this::admitted);
    }

    /** Completes with the held position, or exceptionally (lease lost, etcd failure, aborted). */
    public CompletableFuture<LockQueue.Held> result() {
        return result;
    }

    /**
     * Stops waiting. Completes with true once the attempt is undone (its waiter key, if any, deleted), with false
     * when the lock had already been acquired: {@link #result()} then holds it and the caller must release it.
     */
    public CompletableFuture<Boolean> abort() {
        LockQueue.Acquisition inQueue;
        synchronized (this) {
            switch (stage) {
                case DONE:
                    return CompletableFuture.completedFuture(result.isCompletedExceptionally() ? Boolean.TRUE
                            : Boolean.FALSE);
                case ABORTED:
                    return CompletableFuture.completedFuture(true);
                case AT_GATE:
                    stage = Stage.ABORTED;
                    turn.cancel(false); // if the turn came meanwhile, admitted() sees ABORTED and passes it on
                    result.completeExceptionally(new CancellationException("lock wait aborted"));
                    return CompletableFuture.completedFuture(true);
                default:
                    stage = Stage.ABORTED;
                    inQueue = acquisition;
            }
        }
        return inQueue.abort().thenApply(undone -> {
            if (undone) {
                gate.leave();
                result.completeExceptionally(new CancellationException("lock wait aborted"));
            } else {
                result.complete(inQueue.result().join());
            }
            return undone;
        });
    }

    private void admitted() {
        LockQueue.Acquisition started;
        synchronized (this) {
            if (stage == Stage.ABORTED) {
                gate.leave();
                return;
            }
            stage = Stage.IN_QUEUE;
            acquisition = queue.acquire(prefix, lease, waiting);
            started = acquisition;
        }
        started.start(); // outside the monitor: it sends the Txn
        started.result().whenComplete((held, failure) -> {
            synchronized (this) {
                if (stage == Stage.ABORTED) {
                    return; // abort() settles the result
                }
                stage = Stage.DONE;
            }
            if (failure != null) {
                gate.leave();
                result.completeExceptionally(failure);
            } else {
                result.complete(held);
            }
        });
    }

    /** The gate of the session and name, to be left when the lock is released. */
    public void leaveGate() {
        gate.leave();
    }
}
