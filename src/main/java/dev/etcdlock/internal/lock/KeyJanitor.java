package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.transport.Backoff;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.transport.Transport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one session means to have in etcd, key by key, and the removal of everything else.
 *
 * <p>It deletes the session's keys whose delete did not certainly happen, until it does (Curator's
 * {@code guaranteed()} delete). Every delete is guarded, by the attempt's nonce or by the key's create revision, so
 * repeating it can never remove another attempt's key: it is retried with capped backoff until etcd answers, or
 * until the session's lease has ended (revoked: the key went with it; lost: etcd expires it, and the lease manager
 * revokes a lease it lost when etcd answers again), or the client is closed (which revokes the lease). Without this,
 * a key whose one delete failed during an outage stays while the session keeps its lease alive, reaches the head of
 * its queue and
 * holds the name for the life of the process.
 *
 * <p>It also knows which version of each of the session's keys a live attempt or hold owns ({@link #enqueuing},
 * {@link #owns}, {@link #retire}), so that a version created by a request whose outcome was unknown and that a
 * member executed late ({@link ReplayGuard}) is recognised as nobody's and deleted, whatever the key's value; and so
 * that an attempt never takes over a version the session is already done with, which would hand out an old
 * fencing token again.
 */
final class KeyJanitor {
    private static final System.Logger LOG = System.getLogger(KeyJanitor.class.getName());
    static final long RETRY_MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long RETRY_MAX_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Kv kv;
    private final SerialContext context;
    private final Transport transport;
    private final Lease lease;
    private final AtomicInteger pending = new AtomicInteger();
    /** Per key, what the session's attempts own of it; serial context only. */
    private final Map<ByteString, KeyState> keys = new HashMap<>();

    /** Who owns a key of this session, for the replay guard; serial context only. */
    private static final class KeyState {
        /** An enqueue Txn is in flight: versions seen meanwhile wait for its answer. */
        boolean enqueuing;
        /** The create revision a live attempt or hold owns, 0 if none. */
        long owned;
        /** The largest create revision of a version the session is done with: never to be taken over. */
        long retiredUpTo;
        /** Versions seen while an enqueue was in flight, judged once it answers. */
        final List<Long> undecided = new ArrayList<>(1);
        /** Guards watching the key for late copies of unanswered requests. */
        int guards;

        boolean idle() {
            return !enqueuing && owned == 0 && undecided.isEmpty() && guards == 0;
        }
    }

    KeyJanitor(Kv kv, SerialContext context, Transport transport, Lease lease) {
        this.kv = kv;
        this.context = context;
        this.transport = transport;
        this.lease = lease;
    }

    /** One guarded delete and its retries. */
    static final class Removal {
        /** Whether the first try got an answer: false when it is being retried in the background. */
        final CompletableFuture<Boolean> firstAnswer = new CompletableFuture<>();
        /** Completes once the key is certainly not this attempt's any more (deleted, or gone with the lease). */
        final CompletableFuture<Void> done = new CompletableFuture<>();
    }

    /** Deletes {@code key} only while it still carries {@code nonce}. Any thread. */
    Removal removeIfValue(ByteString key, ByteString nonce) {
        return start(key, Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VALUE)
                .setResult(Compare.CompareResult.EQUAL).setValue(nonce).build(), "its nonce");
    }

    /** Deletes {@code key} only while it is the version created at {@code createRevision}. Any thread. */
    Removal removeIfCreatedAt(ByteString key, long createRevision) {
        return start(key, LockQueue.ownership(key, createRevision), "create revision " + createRevision);
    }

    /**
     * Deletes whatever version of {@code key} is there (read, then deleted guarded by the create revision read):
     * only for a session's own recipe-valued key while the session's next attempt on the queue is held back until
     * {@link Removal#done} (see {@link LockQueue}). Any thread.
     */
    Removal removeLeftover(ByteString key) {
        return start(key, null, "the version found");
    }

    /** An attempt is about to send its enqueue Txn for {@code key}. Serial context. */
    void enqueuing(ByteString key) {
        state(key).enqueuing = true;
    }

    /** The enqueue answered: the attempt owns the version created at {@code createRevision} (0: none). In context. */
    void owns(ByteString key, long createRevision) {
        KeyState state = state(key);
        state.enqueuing = false;
        state.owned = createRevision;
        List<Long> seen = List.copyOf(state.undecided);
        state.undecided.clear();
        for (long version : seen) {
            judge(key, version);
        }
        forgetIfIdle(key, state);
    }

    /** The attempt or hold that owned {@code createRevision} of {@code key} is over. Any thread. */
    void retire(ByteString key, long createRevision) {
        context.execute(() -> {
            KeyState state = state(key);
            if (createRevision != 0 && state.owned == createRevision) {
                state.owned = 0;
            }
            state.retiredUpTo = Math.max(state.retiredUpTo, createRevision);
            forgetIfIdle(key, state);
        });
    }

    /** The largest create revision of {@code key} this session is done with: not to be held again. Serial context. */
    long retiredUpTo(ByteString key) {
        KeyState state = keys.get(key);
        return state == null ? 0 : state.retiredUpTo;
    }

    /**
     * A version of {@code key} appeared, created at {@code createRevision} with this session's lease: deleted unless
     * a live attempt owns it, or may own it once its enqueue answers. Serial context.
     */
    void judge(ByteString key, long createRevision) {
        KeyState state = state(key);
        if (state.enqueuing) {
            if (!state.undecided.contains(createRevision)) {
                state.undecided.add(createRevision);
            }
            return;
        }
        if (state.owned == createRevision) {
            return;
        }
        // never to be taken over by a later attempt while (or after) it is deleted
        state.retiredUpTo = Math.max(state.retiredUpTo, createRevision);
        LOG.log(System.Logger.Level.INFO, () -> "removing " + key.toStringUtf8() + ", created at revision "
                + createRevision + " by a request whose answer this client never got (a member executed it late)");
        removeIfCreatedAt(key, createRevision);
    }

    void guardStarted(ByteString key) {
        state(key).guards++;
    }

    void guardEnded(ByteString key) {
        KeyState state = state(key);
        state.guards--;
        forgetIfIdle(key, state);
    }

    private KeyState state(ByteString key) {
        return keys.computeIfAbsent(key, k -> new KeyState());
    }

    /** Keeps only what must be remembered: a retired revision is kept (one long per key the session used). */
    private void forgetIfIdle(ByteString key, KeyState state) {
        if (state.idle() && state.retiredUpTo == 0) {
            keys.remove(key);
        }
    }

    /** Removals not finished yet, for tests and diagnostics. */
    int pending() {
        return pending.get();
    }

    private Removal start(ByteString key, Compare guard, String guardText) {
        Removal removal = new Removal();
        pending.incrementAndGet();
        removal.done.whenComplete((v, t) -> pending.decrementAndGet());
        new Retries(key, guard, guardText, removal).attempt();
        return removal;
    }

    /** The retry loop of one removal; its steps run in the serial context. */
    private final class Retries {
        private final ByteString key;
        private final Compare guard;
        private final String guardText;
        private final Removal removal;
        private final Backoff backoff = new Backoff(RETRY_MIN_NANOS, RETRY_MAX_NANOS);
        private int tries;

        Retries(ByteString key, Compare guard, String guardText, Removal removal) {
            this.key = key;
            this.guard = guard;
            this.guardText = guardText;
            this.removal = removal;
        }

        void attempt() {
            if (ended()) {
                finish(false);
                return;
            }
            tries++;
            CompletableFuture<?> delete = guard != null ? kv.idempotentTxn(deleteIf(guard))
                    : kv.range(RangeRequest.newBuilder().setKey(key).build()).thenCompose(r -> r.getKvsList().isEmpty()
                            ? CompletableFuture.completedFuture(null)
                            : kv.idempotentTxn(deleteIf(LockQueue.ownership(key, r.getKvs(0).getCreateRevision()))));
            delete.whenCompleteAsync((r, failure) -> {
                if (failure == null || !EtcdErrors.retryable(failure, true)) {
                    if (failure != null && EtcdErrors.kind(failure) != EtcdErrors.Kind.LEASE_NOT_FOUND) {
                        LOG.log(System.Logger.Level.WARNING, () -> "etcd refused to delete " + key.toStringUtf8()
                                + " (" + EtcdErrors.unwrap(failure) + "); it goes with the session's lease");
                    }
                    finish(true); // an answer: repeating it would get the same
                    return;
                }
                if (ended()) {
                    finish(false);
                    return;
                }
                if (tries == 1) {
                    removal.firstAnswer.complete(false);
                    LOG.log(System.Logger.Level.INFO, () -> "could not delete " + key.toStringUtf8() + " ("
                            + EtcdErrors.unwrap(failure) + "); retrying until it goes or the session's lease "
                            + Long.toHexString(lease.id()) + " ends");
                }
                context.schedule(this::attempt, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS);
            }, context);
        }

        /** The lease is over (its keys go with it) or the client closed (which revoked it): nothing left to do. */
        private boolean ended() {
            return lease.done().isDone() || transport.isClosed();
        }

        private void finish(boolean answered) {
            if (tries > 1 && answered) {
                LOG.log(System.Logger.Level.INFO, () -> "deleted " + key.toStringUtf8() + " (guarded by " + guardText
                        + ") after " + tries + " tries");
            }
            // a lease its owner ended took the key with it (revoked; or it expires, the owner having asked for that)
            removal.done.complete(null); // first: whoever hears of the answer finds the removal over
            removal.firstAnswer.complete(answered || lease.endedByOwner());
        }
    }

    private static TxnRequest deleteIf(Compare guard) {
        return TxnRequest.newBuilder().addCompare(guard)
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(
                        DeleteRangeRequest.newBuilder().setKey(guard.getKey())))
                .build();
    }
}
