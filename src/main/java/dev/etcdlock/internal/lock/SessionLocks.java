package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lease.Lease;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/** The lock side of one session: its lease, and a local gate per lock name so its threads take turns. */
public final class SessionLocks {
    private final LockQueue queue;
    private final Lease lease;
    private final ConcurrentHashMap<ByteString, LocalGate> gates = new ConcurrentHashMap<>();
    /** Attempts of this session not finished yet, at the gate or in etcd's queue: ended when the lease ends. */
    private final Set<LockAttempt> attempts = ConcurrentHashMap.newKeySet();

    public SessionLocks(LockQueue queue, Lease lease) {
        this.queue = queue;
        this.lease = lease;
        // one callback per session, not one per attempt: a long-lived session must not pile them up
        lease.done().whenComplete((v, failure) -> {
            for (LockAttempt attempt : List.copyOf(attempts)) {
                attempt.leaseEnded(failure);
            }
        });
    }

    public Lease lease() {
        return lease;
    }

    public LockAttempt lock(ByteString prefix) {
        LockAttempt attempt = new LockAttempt(queue, retainGate(prefix), prefix, lease);
        attempts.add(attempt);
        attempt.result().whenComplete((held, failure) -> {
            attempts.remove(attempt);
            if (failure != null) {
                releaseGate(prefix); // a holder keeps its use of the gate until unlock
            }
        });
        if (lease.done().isDone()) { // ended before it was registered: the callback above may have missed it
            attempt.leaseEnded(lease.done().handle((v, t) -> t).join());
        }
        return attempt;
    }

    /** Completes with null when the lock is taken, by another session or another thread of this one. */
    public CompletableFuture<LockQueue.Held> tryLock(ByteString prefix) {
        LocalGate gate = retainGate(prefix);
        if (!gate.tryEnter()) {
            releaseGate(prefix);
            return CompletableFuture.completedFuture(null);
        }
        return queue.tryAcquire(prefix, lease).whenComplete((held, failure) -> {
            if (held == null) {
                gate.leave();
                releaseGate(prefix);
            }
        });
    }

    /** Deletes the key if still ours, then lets the next local thread in. */
    public CompletableFuture<Boolean> unlock(LockQueue.Held held) {
        return queue.release(held).whenComplete((ok, failure) -> {
            gates.get(held.prefix()).leave(); // present: the holder still uses it
            releaseGate(held.prefix());
        });
    }

    /** Number of lock names with a gate in use, for tests: gates go when nobody holds or waits. */
    int gatesInUse() {
        return gates.size();
    }

    private LocalGate retainGate(ByteString prefix) {
        return gates.compute(prefix, (p, gate) -> {
            LocalGate g = gate != null ? gate : new LocalGate();
            g.users++;
            return g;
        });
    }

    private void releaseGate(ByteString prefix) {
        gates.computeIfPresent(prefix, (p, gate) -> --gate.users == 0 ? null : gate);
    }
}
