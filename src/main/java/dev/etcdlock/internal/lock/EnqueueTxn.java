package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import java.util.List;
import java.util.Set;

/**
 * The Txns of one waiter and what their answers mean, without I/O: the whole protocol a waiter speaks to etcd, so it
 * can be read (and tested on canned answers) apart from the state machine that sends them ({@link Waiter}).
 *
 * <p>Every Txn here is safe to send again after a lost answer: a repeat of the enqueue finds the key the first try
 * put and reads it back, and {@link #parseEnqueue} takes such a key over when it carries this attempt's value and is
 * newer than anything the session is done with ({@code retiredUpTo}).
 */
final class EnqueueTxn {
    private final QueuePolicy policy;
    private final ByteString queue;
    private final ByteString queueEnd;
    private final ByteString key;
    private final ByteString value;
    private final long leaseId;

    /** What an answer came to. */
    sealed interface Answer {
    }

    /** The key is in the queue at {@code createRevision}, with {@code ahead} blocking it, as of {@code revision}. */
    record Placed(long createRevision, Set<ByteString> ahead, long revision) implements Answer {
    }

    /**
     * The session's key exists from an attempt that is over (its removal still on the way, or an unlock whose answer
     * was lost) and carries another value: delete that version ({@link #deleteStale}) and enqueue again.
     */
    record StaleKey(List<KeyValue> found) implements Answer {
    }

    /**
     * A key of the queue carries {@code theirs}, not the value all must agree on. {@code createRevision} is a version
     * of the session's key to remove (this attempt's, taken over from an earlier try; or a leftover heading the
     * queue); 0 when there is none.
     */
    record Mismatch(ByteString theirs, long createRevision) implements Answer {
    }

    /** The agreement compare failed yet the read agrees (the queue changed in between): enqueue again. */
    record Changed() implements Answer {
    }

    /**
     * A take-if-free found the queue taken. {@code leftover} is the create revision of this session's own key heading
     * it (from an unlock whose answer was lost), to be removed; else 0.
     */
    record Taken(long leftover) implements Answer {
    }

    /** A reread after compaction found this waiter's key gone. */
    record KeyGone() implements Answer {
    }

    EnqueueTxn(QueuePolicy policy, ByteString key, ByteString value, long leaseId) {
        this.policy = policy;
        this.queue = policy.queue();
        this.queueEnd = Kv.prefixEnd(queue);
        this.key = key;
        this.value = value;
        this.leaseId = leaseId;
    }

    /**
     * Puts the key if the session has none, and reads the queue. Then: the key and the queue; Else: the key as it is
     * and the queue. With {@link QueuePolicy.Value.Agreed}, the Then branch also requires every key to carry our
     * value; a VALUE compare fails on an empty range, so the Else branch puts the first key of an empty queue itself
     * (no second round trip in the uncontended case), and reads the queue's values to name a mismatch.
     */
    TxnRequest enqueue() {
        TxnRequest.Builder txn = TxnRequest.newBuilder()
                .addCompare(noKeyYet(key))
                .addSuccess(put())
                .addSuccess(queueRead(true));
        if (agreeing()) {
            txn.addCompare(Compare.newBuilder().setKey(queue).setRangeEnd(queueEnd)
                            .setTarget(Compare.CompareTarget.VALUE).setResult(Compare.CompareResult.EQUAL)
                            .setValue(value))
                    .addFailure(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder()
                            .addCompare(queueEmpty())
                            .addSuccess(put())));
        }
        return txn.addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                .addFailure(queueRead(!agreeing()))
                .build();
    }

    /** What {@link #enqueue()}'s answer means: {@link Placed}, {@link StaleKey}, {@link Mismatch}, {@link Changed}. */
    Answer parseEnqueue(TxnResponse response, long retiredUpTo) {
        boolean agreeing = agreeing();
        int at = response.getSucceeded() || !agreeing ? 1 : 2; // where the queue read is
        List<KeyValue> queued = response.getResponses(at).getResponseRange().getKvsList();
        long createRevision = 0;
        if (response.getSucceeded() || agreeing && response.getResponses(0).getResponseTxn().getSucceeded()) {
            createRevision = response.getHeader().getRevision();
        } else {
            List<KeyValue> mine = response.getResponses(at - 1).getResponseRange().getKvsList();
            if (ours(mine, retiredUpTo)) {
                createRevision = mine.get(0).getCreateRevision();
            } else if (!mine.isEmpty() || !agreeing) {
                return new StaleKey(mine);
            }
            if (agreeing) {
                ByteString theirs = otherValue(queued);
                if (theirs != null) {
                    return new Mismatch(theirs, createRevision);
                }
                if (createRevision == 0) {
                    return new Changed();
                }
            }
        }
        return new Placed(createRevision, policy.rule().blockersAhead(queued, createRevision),
                response.getHeader().getRevision());
    }

    /**
     * Go's TryLock in one round trip, for a rule where every key blocks and one holds: puts the key only into an empty
     * queue, else reads the queue's head, so that a repeat after a lost answer finds its own key holding.
     */
    TxnRequest takeIfFree() {
        return TxnRequest.newBuilder()
                .addCompare(queueEmpty())
                .addSuccess(put())
                .addFailure(RequestOp.newBuilder().setRequestRange(wholeQueue().setLimit(1)
                        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND)))
                .build();
    }

    /** What {@link #takeIfFree()}'s answer means: {@link Placed} (holding), {@link Taken} or {@link Mismatch}. */
    Answer parseTakeIfFree(TxnResponse response, long retiredUpTo) {
        long revision = response.getHeader().getRevision();
        if (response.getSucceeded()) {
            return new Placed(revision, Set.of(), revision);
        }
        List<KeyValue> head = response.getResponses(0).getResponseRange().getKvsList();
        if (head.isEmpty()) {
            return new Taken(0); // emptied in between: as taken, the caller asked only for a free lock now
        }
        KeyValue first = head.get(0);
        if (first.getKey().equals(key) && ours(head, retiredUpTo)) {
            return new Placed(first.getCreateRevision(), Set.of(), revision);
        }
        long leftover = first.getKey().equals(key) ? first.getCreateRevision() : 0;
        if (agreeing() && !first.getValue().equals(value)) {
            return new Mismatch(first.getValue(), leftover);
        }
        return new Taken(leftover);
    }

    /** After compaction: the waiter's key and the keys ahead of it as they are now. Reads only. */
    TxnRequest reread(long createRevision) {
        return TxnRequest.newBuilder()
                .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                .addSuccess(RequestOp.newBuilder().setRequestRange(
                        wholeQueue().setKeysOnly(true).setMaxCreateRevision(createRevision - 1)))
                .build();
    }

    /** What {@link #reread}'s answer means: {@link Placed} or {@link KeyGone}. */
    Answer parseReread(TxnResponse response, long createRevision) {
        List<KeyValue> mine = response.getResponses(0).getResponseRange().getKvsList();
        if (mine.isEmpty() || mine.get(0).getCreateRevision() != createRevision) {
            return new KeyGone();
        }
        return new Placed(createRevision, policy.rule().blockersAhead(
                response.getResponses(1).getResponseRange().getKvsList(), createRevision),
                response.getHeader().getRevision());
    }

    /** Deletes the version of the session's key that {@link StaleKey} found (whatever is there when none was). */
    TxnRequest deleteStale(List<KeyValue> found) {
        TxnRequest.Builder txn = TxnRequest.newBuilder();
        if (!found.isEmpty()) {
            txn.addCompare(LockQueue.ownership(key, found.get(0).getCreateRevision()));
        }
        return txn.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                .build();
    }

    private boolean agreeing() {
        return policy.value() instanceof QueuePolicy.Value.Agreed;
    }

    /** The key found is this attempt's: its value, and newer than any version the session is done with. */
    private boolean ours(List<KeyValue> found, long retiredUpTo) {
        return !found.isEmpty() && found.get(0).getValue().equals(value)
                && found.get(0).getCreateRevision() > retiredUpTo;
    }

    private RequestOp put() {
        return RequestOp.newBuilder().setRequestPut(
                PutRequest.newBuilder().setKey(key).setValue(value).setLease(leaseId)).build();
    }

    private RequestOp queueRead(boolean keysOnly) {
        return RequestOp.newBuilder().setRequestRange(wholeQueue().setKeysOnly(keysOnly)
                .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND))
                .build();
    }

    private RangeRequest.Builder wholeQueue() {
        return RangeRequest.newBuilder().setKey(queue).setRangeEnd(queueEnd);
    }

    /** True only while no key is in the queue: etcd compares every key of the range, an empty range as revision 0. */
    private Compare queueEmpty() {
        return noKeyYet(queue).toBuilder().setRangeEnd(queueEnd).build();
    }

    private static Compare noKeyYet(ByteString key) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0).build();
    }

    /** The first value in the queue other than ours, or null. */
    private ByteString otherValue(List<KeyValue> queued) {
        for (KeyValue kv : queued) {
            if (!kv.getValue().equals(value)) {
                return kv.getValue();
            }
        }
        return null;
    }
}
