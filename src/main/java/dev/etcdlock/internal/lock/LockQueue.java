package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.transport.Transport;
import dev.etcdlock.internal.watch.WatchCompactedException;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The queue under a name that every recipe stands on, as Go's Mutex and etcd's v3lock lay it out: each session's
 * waiter key (the mutex's is {@code <name>/<lease id in hex>}) is attached to the session's lease, and keys are ordered
 * by create revision. Which earlier keys a waiter waits for, and how many may be left when it holds, is the recipe's
 * {@link QueuePolicy.Rule}. A waiter's blockers only ever go, so they are read once (in the enqueuing Txn) and then
 * maintained from delete events of the client's shared prefix watch. A waiter never holds while its lease is not
 * certainly valid.
 *
 * <p>Cleanup never deletes the key of another attempt. Waiter keys have one name per session and queue, so the
 * attempt at risk is the session's next one on the same queue, and how it is kept safe depends on the key's value:
 * <ul>
 *   <li>A nonce per attempt (the mutex, the read-write lock): cleanup deletes only a key that still carries the
 *       attempt's own nonce, so it is safe even when the enqueue Txn's outcome is unknown, and may still be on its way
 *       while the next attempt enqueues.</li>
 *   <li>The recipe's value (the semaphore's count; an election's candidate value, as Go's Election stores it): two
 *       attempts would write the same value, so cleanup deletes only the key created at the attempt's own create
 *       revision. When that is unknown (the enqueue Txn's answer was lost), it reads the key and deletes the version
 *       it finds; that is safe because the session's next attempt on the queue is held back at the session's gate
 *       until this cleanup has finished ({@link Waiter}). For the same reason a key found where the
 *       enqueue Txn meant to create one is this session's own: an earlier try of the same Txn whose answer was lost,
 *       or a key left when an unlock's answer was lost. It is taken over if it carries the same value (it keeps its
 *       place, which the others already wait behind), else deleted and the Txn sent again.</li>
 * </ul>
 */
public final class LockQueue {
    private final Kv kv;
    private final WatchMultiplexer watches;
    private final SerialContext context;
    private final Transport transport;
    private final QueueObserver observer;

    public LockQueue(Engine engine) {
        this.observer = new QueueObserver(engine);
        this.kv = engine.kv();
        this.watches = engine.watches();
        this.context = engine.transport().executor();
        this.transport = engine.transport();
    }

    /**
     * An enqueue's outcome is unknown (no answer), or the transport gave up on a silent member while it was in
     * flight: that member may create the key later, so guard it ({@link ReplayGuard}). Serial context.
     */
    void guard(KeyJanitor janitor, ByteString key, Lease lease) {
        ReplayGuard.start(kv, watches, context, janitor, key, lease.id());
    }

    /**
     * A held position: the queue, the waiter key, its create revision (the fencing token) and the revision at which
     * it was seen to hold (the enqueue Txn's, or the delete that freed it; etcdctl's ETCD_LOCK_REV).
     */
    public record Held(ByteString prefix, ByteString key, long createRevision, long acquiredRevision) {
    }

    /** The key a session's lease uses under {@code prefix} (which ends with '/'). */
    public static ByteString keyOf(ByteString prefix, long leaseId) {
        return prefix.concat(ByteString.copyFromUtf8(Long.toHexString(leaseId)));
    }

    Kv kv() {
        return kv;
    }

    WatchMultiplexer watches() {
        return watches;
    }

    SerialContext context() {
        return context;
    }

    Transport transport() {
        return transport;
    }

    /** The janitor of one session's keys: one per session, shared by its attempts and holders. */
    KeyJanitor janitor(Lease lease) {
        return new KeyJanitor(kv, context, transport, lease);
    }

    /**
     * Deletes the key if it is still the one created at {@code createRevision}: never someone else's. Completes
     * with true when it deleted it, or when it found it gone after an earlier attempt of the same delete got no
     * answer (etcd applied that one: nothing tells it from a loss, and the lock was held until the unlock was sent);
     * with false when it was not there any more (lost, or released before).
     */
    public CompletableFuture<Boolean> release(Held held) {
        return kv.idempotentTxnTellingRetries(deleteIfCreatedAt(held.key(), held.createRevision()))
                .thenApply(a -> a.response().getSucceeded() || a.mayHaveRunBefore());
    }

    /** Whether etcd still has lease {@code id}: true, false, or null when it gave no answer. Never fails. */
    CompletableFuture<Boolean> leaseExists(long id) {
        return transport.call(dev.etcdlock.internal.proto.LeaseGrpc.getLeaseTimeToLiveMethod(),
                dev.etcdlock.internal.proto.LeaseTimeToLiveRequest.newBuilder().setID(id).build(), true)
                .handle((r, t) -> t != null ? (EtcdErrors.kind(t) == EtcdErrors.Kind.LEASE_NOT_FOUND ? false : null)
                        : r.getTTL() > 0);
    }

    /** A watch telling {@code onGone} once when {@code held}'s key is deleted; see {@link QueueObserver#watchHeld}. */
    Runnable watchHeld(Held held, Runnable onGone) {
        return observer.watchHeld(held, onGone);
    }

    /** The comparison that holds while {@code key} is the one created at {@code createRevision}. */
    public static Compare ownership(ByteString key, long createRevision) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(createRevision).build();
    }

    /** Why a lock call cannot start on this lease, or null: closed by its owner, or lost. */
    static RuntimeException whyEnded(Lease lease, ByteString prefix) {
        if (lease.done().isDone()) {
            return lease.done().isCompletedExceptionally() ? leaseLost(lease, prefix) : sessionClosed(prefix);
        }
        return lease.isValid() ? null : leaseLost(lease, prefix);
    }

    static RuntimeException sessionClosed(ByteString prefix) {
        return new ClientClosedException("the session was closed while locking " + prefix.toStringUtf8()
                + "; open a new one");
    }

    static LeaseLostException leaseLost(Lease lease, ByteString prefix) {
        return new LeaseLostException(lease.id(), "the session's lease " + Long.toHexString(lease.id())
                + " is gone, so its place in the queue of " + prefix.toStringUtf8() + " is gone too; "
                + "open a new session and try again");
    }

    static boolean leaseGone(Throwable failure) {
        return EtcdErrors.kind(failure) == EtcdErrors.Kind.LEASE_NOT_FOUND;
    }

    private static TxnRequest deleteIfCreatedAt(ByteString key, long createRevision) {
        return TxnRequest.newBuilder()
                .addCompare(ownership(key, createRevision))
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                .build();
    }
}
