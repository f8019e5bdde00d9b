package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lock.Hold;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One term as leader of an {@link Election}, from the campaign that won it until {@link #resign()} or its loss.
 * Ownership belongs to this handle, not to a thread: any thread may proclaim or resign.
 *
 * <pre>{@code
 * try (Leadership term = election.campaign("10.0.0.7:8080")) {
 *     term.lost().whenComplete((v, e) -> stopServing());     // told at once if the term ends without resign
 *     serveAsLeader(term.fencingToken());
 * }   // resigns: the next candidate is elected at once
 * }</pre>
 *
 * <p>The term is tied to the session's lease. It ends without a resign when the lease is lost (etcd expired it or
 * someone revoked it; or etcd stayed unreachable until the lease could no longer be proven valid, which the client
 * reports before etcd can expire it and elect somebody else) or when the leader key is deleted by somebody else.
 * Either way {@link #isHeld()} turns false at once and {@link #lost()} completes exceptionally, the client's one
 * watch telling of a deleted key (one more round trip names the cause) and the lease's keep-alive of a lost lease (see
 * <a href="package-summary.html#lease-lost">what "lease lost" means</a>). Closing the session or the client ends the
 * term too: {@link #lost()} then completes normally. Thread-safe; only {@link #proclaim(String)}, {@link #resign()}
 * and {@link #close()} do I/O.
 */
public final class Leadership implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Leadership.class.getName());

    private final String name;
    private final Kv kv;
    private final Hold hold;
    private final AtomicBoolean resignCalled = new AtomicBoolean();
    private volatile String value;

    private Leadership(String name, Kv kv, Hold hold, String value) {
        this.name = name;
        this.kv = kv;
        this.hold = hold;
        this.value = value;
    }

    /** A term just won: from now on it hears of the lease's end and of its key's deletion. */
    static Leadership elected(String name, SessionLocks locks, Kv kv, LockQueue.Held held, String value) {
        return new Leadership(name, kv, Hold.won(locks, held, new Hold.Words("leadership of " + name, "led"),
                Leadership.class), value);
    }

    /**
     * The election's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The leader key in etcd, {@code <name>/<lease id in hex>}, as Go's {@code Election.Key()}.
     *
     * @return the key, as UTF-8 text
     */
    public String key() {
        return hold.key();
    }

    /**
     * The value this handle campaigned with or last proclaimed successfully. No I/O: what etcd holds is
     * {@link Election#leader()}'s.
     *
     * @return the value
     */
    public String value() {
        return value;
    }

    /**
     * This term's fencing token: the create revision of the leader key (Go's {@code Election.Rev()}). Every later
     * term of the election has a larger one, and observers see it as {@link LeaderInfo#fencingToken()}; give it to
     * resources that must refuse a deposed leader, or guard writes with {@link Txn#ifLeader(Leadership)}.
     *
     * @return the create revision of the leader key
     */
    public long fencingToken() {
        return hold.fencingToken();
    }

    /**
     * The etcd revision at which the campaign was seen to win: its own, or that of the delete that ended the term
     * before.
     *
     * @return an etcd revision, at least {@link #fencingToken()}
     */
    public long electedRevision() {
        return hold.held().acquiredRevision();
    }

    /**
     * True while this term lasts: not resigned, not known lost, and the session's lease certainly valid. No I/O;
     * etcd has the last word, so guard writes with {@link Txn#ifLeader(Leadership)}.
     *
     * @return false once the term was resigned, lost or ended with its session or client, or the session's lease
     *     may have expired
     */
    public boolean isHeld() {
        return hold.isHeld();
    }

    /**
     * Completes when the term ends: normally after {@link #resign()} or {@link #close()}, or when the session is
     * closed; exceptionally when it is lost, with whichever news came first: {@link LeaseLostException} when the
     * session's lease is lost (etcd answered a keep-alive with "gone", or did not answer before the lease could
     * expire), or when the leader key's delete event came and one LeaseTimeToLive then found the lease gone in etcd;
     * {@link LockNotHeldException} when the key was deleted and the lease is still there (somebody deleted the key)
     * or etcd did not answer that question, or when a proclaim found the key gone. {@link #isHeld()} turns false at
     * the event itself. Completes on the
     * common {@link ForkJoinPool}, never on the client's I/O threads, so dependent actions may block; it is done by
     * the time the {@code resign()} that ends the term returns. After a loss, {@link #close()} the handle to let this
     * session campaign on the name again.
     *
     * @return the term's one future, the same on every call; polling {@code isDone()} on it costs nothing. It is
     *     read-only: {@code complete}, {@code completeExceptionally}, {@code obtrude*}, {@code completeAsync},
     *     {@code orTimeout} and {@code completeOnTimeout} throw {@link UnsupportedOperationException} and
     *     {@code cancel} returns false, so no caller can end it for the others; stages chained on it (or
     *     {@code copy()}) are the caller's own
     */
    public CompletableFuture<Void> lost() {
        return hold.lost();
    }

    /**
     * Sets the leader's value without a new election (Go's {@code Proclaim}): one Txn that puts the value only while
     * the leader key is still the one created at {@link #fencingToken()}, so a deposed leader never writes. Observers
     * see the new value, with the same fencing token. The Txn is sent once and waited for within the request
     * timeout; not interruptible.
     *
     * @param newValue the new value, stored as UTF-8
     * @throws LockNotHeldException when the term has ended (resigned, lost, or ended with the session or client) or
     *     the lease is not certainly valid, without sending anything; or when etcd found the key gone: then nothing
     *     was written, and the term is over for this handle too
     * @throws EtcdUnavailableException when etcd could not be reached; {@code isOutcomeUnknown()} tells whether the
     *     value may have been written (a write is never re-sent blindly); the term goes on
     * @throws EtcdRequestException when etcd refuses the write (permission denied, value too large)
     * @throws NullPointerException when the value is null
     */
    public void proclaim(String newValue) {
        Objects.requireNonNull(newValue, "newValue");
        RuntimeException ended = hold.endedBy();
        if (ended != null) {
            throw new LockNotHeldException(reasonOf(ended), "not the leader of " + name + " any more, nothing was "
                    + "proclaimed: " + ended.getMessage());
        }
        if (!hold.isHeld()) {
            throw new LockNotHeldException("leadership of " + name + " (key " + key() + ") may be lost: the "
                    + "session's lease is not certainly valid any more; nothing was proclaimed");
        }
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(LockQueue.ownership(hold.held().key(), fencingToken()))
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(hold.held().key())
                        .setValue(ByteString.copyFromUtf8(newValue)).setLease(hold.leaseId())))
                .build();
        boolean written;
        try {
            written = kv.txn(txn).join().getSucceeded();
        } catch (RuntimeException e) {
            throw EtcdErrors.toException(e, "proclaim on election " + name, true);
        }
        if (!written) {
            LockNotHeldException gone = new LockNotHeldException("leadership of " + name + " (key " + key()
                    + ", fencing token " + fencingToken() + ") was lost before the proclaim: the key is gone (the "
                    + "session's lease expired or was revoked, or somebody deleted it); nothing was written");
            hold.keyFoundGone(gone);
            throw gone;
        }
        value = newValue;
    }

    /**
     * Ends the term (Go's {@code Resign}): deletes the leader key only if it is still the one created at
     * {@link #fencingToken()}, one round trip, and the next candidate is elected at once. {@link #lost()} then
     * completes normally. The delete is retried on other members within the request timeout (a repeat is
     * harmless); not interruptible.
     *
     * @throws LockNotHeldException when called a second time, or when the term ended before (lost, so someone else
     *     may have led meanwhile, or ended with the session or client); nothing of anybody else's is deleted
     * @throws EtcdUnavailableException when etcd could not be reached; the key then goes with the session's lease,
     *     and {@link #lost()} completes normally all the same
     */
    public void resign() {
        if (resignCalled.getAndSet(true)) {
            throw new LockNotHeldException(LockNotHeldException.Reason.RELEASED, "leadership of " + name + " (key "
                    + key() + ") was already resigned through this handle");
        }
        if (!hold.endByOwner(new LockNotHeldException(LockNotHeldException.Reason.RELEASED, "leadership of " + name
                + " (key " + key() + ") was resigned through this handle"))) {
            hold.releaseQuietly();
            RuntimeException ended = hold.endedBy();
            throw new LockNotHeldException(reasonOf(ended), "leadership of " + name + " (key " + key() + ") ended "
                    + "before the resign: " + ended.getMessage());
        }
        boolean deleted;
        try {
            deleted = hold.release();
        } catch (RuntimeException e) {
            hold.settle(null); // done once resign() returns
            throw EtcdErrors.toException(e, "resign from election " + name, true);
        }
        if (deleted) {
            hold.settle(null);
            return;
        }
        LockNotHeldException gone = new LockNotHeldException("leadership of " + name + " (key " + key()
                + ", fencing token " + fencingToken() + ") was lost before the resign: the session's lease expired or "
                + "was revoked, or somebody deleted the key, and someone else may have led meanwhile");
        hold.settle(gone);
        throw gone;
    }

    /**
     * Resigns if this term still lasts; a term that ended otherwise gives up its place without a word (its loss was
     * logged, and reported by {@link #lost()}). A second call, or a call after {@link #resign()}, does nothing.
     *
     * @throws EtcdUnavailableException as {@link #resign()}: etcd could not be reached, the key goes with the lease
     */
    @Override
    public void close() {
        if (resignCalled.get()) {
            return;
        }
        if (hold.state() != Hold.State.HELD) {
            resignCalled.set(true);
            hold.releaseQuietly();
            return;
        }
        try {
            resign();
        } catch (LockNotHeldException e) {
            LOG.log(System.Logger.Level.WARNING, e.getMessage());
        }
    }

    LockQueue.Held held() {
        return hold.held();
    }

    private static LockNotHeldException.Reason reasonOf(RuntimeException ended) {
        return ended instanceof LockNotHeldException e ? e.reason() : LockNotHeldException.Reason.LOST;
    }

    @Override
    public String toString() {
        return "Leadership{" + key() + ", token=" + fencingToken() + ", value=" + value
                + (hold.state() == Hold.State.HELD ? "" : ", ended") + "}";
    }
}
