package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.proto.ResponseHeader;
import dev.etcdlock.internal.proto.ResponseOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The waiter's Txns and the meaning of etcd's answers, on canned responses: no etcd. */
class EnqueueTxnTest {
    private static final long LEASE = 0x1234;
    private static final ByteString QUEUE = bytes("/q/");
    private static final ByteString KEY = bytes("/q/1234");
    private static final ByteString OURS = bytes("nonce-a");

    private static final QueuePolicy MUTEX = QueuePolicy.mutex(QUEUE);
    private static final QueuePolicy SEMAPHORE = new QueuePolicy(QUEUE, QUEUE, QueuePolicy.Rule.permits(2),
            new QueuePolicy.Value.Agreed(bytes("2"), theirs -> new IllegalStateException(theirs.toStringUtf8())));

    @Test
    void theMutexEnqueuePutsOnlyWhenTheSessionHasNoKeyAndReadsTheQueueEitherWay() {
        TxnRequest txn = new EnqueueTxn(MUTEX, KEY, OURS, LEASE).enqueue();
        assertEquals(1, txn.getCompareCount());
        Compare noKey = txn.getCompare(0);
        assertEquals(KEY, noKey.getKey());
        assertEquals(Compare.CompareTarget.CREATE, noKey.getTarget());
        assertEquals(0, noKey.getCreateRevision());
        assertEquals(OURS, txn.getSuccess(0).getRequestPut().getValue());
        assertEquals(LEASE, txn.getSuccess(0).getRequestPut().getLease());
        assertTrue(txn.getSuccess(1).getRequestRange().getKeysOnly(), "the queue's values are not needed");
        assertEquals(KEY, txn.getFailure(0).getRequestRange().getKey());
        assertEquals(QUEUE, txn.getFailure(1).getRequestRange().getKey());
    }

    @Test
    void anAgreedValueIsComparedOverTheQueueAndTheEmptyQueueIsTakenInTheSameRoundTrip() {
        TxnRequest txn = new EnqueueTxn(SEMAPHORE, KEY, bytes("2"), LEASE).enqueue();
        assertEquals(2, txn.getCompareCount());
        assertEquals(Compare.CompareTarget.VALUE, txn.getCompare(1).getTarget());
        assertEquals(QUEUE, txn.getCompare(1).getKey());
        TxnRequest inner = txn.getFailure(0).getRequestTxn();
        assertEquals(0, inner.getCompare(0).getCreateRevision(), "puts only into an empty queue");
        assertEquals(QUEUE, inner.getCompare(0).getKey());
        assertEquals(KEY, inner.getSuccess(0).getRequestPut().getKey());
        assertFalse(txn.getFailure(2).getRequestRange().getKeysOnly(), "values are read to name a mismatch");
    }

    @Test
    void aPutThatSucceededIsPlacedAtTheAnswersRevisionBehindEveryEarlierKey() {
        TxnResponse answer = succeeded(20, range(kv("/q/a", 5, "x"), kv("/q/b", 9, "y"), kv(KEY, 20, OURS)));
        EnqueueTxn.Placed placed = assertInstanceOf(EnqueueTxn.Placed.class,
                new EnqueueTxn(MUTEX, KEY, OURS, LEASE).parseEnqueue(answer, 0));
        assertEquals(20, placed.createRevision());
        assertEquals(Set.of(bytes("/q/a"), bytes("/q/b")), placed.ahead());
        assertEquals(20, placed.revision());
    }

    @Test
    void aKeyLeftByAnEarlierTryOfTheSameTxnIsTakenOverWithItsPlace() {
        TxnResponse answer = failed(30, range(kv(KEY, 12, OURS)), range(kv("/q/a", 5, "x"), kv(KEY, 12, OURS),
                kv("/q/c", 25, "z")));
        EnqueueTxn.Placed placed = assertInstanceOf(EnqueueTxn.Placed.class,
                new EnqueueTxn(MUTEX, KEY, OURS, LEASE).parseEnqueue(answer, 0));
        assertEquals(12, placed.createRevision());
        assertEquals(Set.of(bytes("/q/a")), placed.ahead(), "only keys created before ours block");
    }

    @Test
    void aVersionTheSessionIsDoneWithIsNeverTakenOverEvenWithTheSameValue() {
        TxnResponse answer = failed(30, range(kv(KEY, 12, bytes("2"))), range(kv(KEY, 12, bytes("2"))));
        EnqueueTxn txns = new EnqueueTxn(SEMAPHORE, KEY, bytes("2"), LEASE);
        EnqueueTxn.Answer parsed = txns.parseEnqueue(agreedFailure(30, false, range(kv(KEY, 12, bytes("2"))),
                range(kv(KEY, 12, bytes("2")))), 12);
        EnqueueTxn.StaleKey stale = assertInstanceOf(EnqueueTxn.StaleKey.class, parsed);
        TxnRequest delete = txns.deleteStale(stale.found());
        assertEquals(12, delete.getCompare(0).getCreateRevision(), "deletes that version only");
        assertInstanceOf(EnqueueTxn.StaleKey.class, new EnqueueTxn(MUTEX, KEY, bytes("2"), LEASE)
                .parseEnqueue(answer, 12));
    }

    @Test
    void theSessionsKeyWithAnotherNonceIsStale() {
        TxnResponse answer = failed(30, range(kv(KEY, 12, "nonce-old")), range(kv(KEY, 12, "nonce-old")));
        assertInstanceOf(EnqueueTxn.StaleKey.class, new EnqueueTxn(MUTEX, KEY, OURS, LEASE).parseEnqueue(answer, 0));
    }

    @Test
    void anAgreedQueueTakenInTheElseBranchIsPlacedAtTheAnswersRevision() {
        TxnResponse answer = agreedFailure(7, true, range(), range(kv(KEY, 7, bytes("2"))));
        EnqueueTxn.Placed placed = assertInstanceOf(EnqueueTxn.Placed.class,
                new EnqueueTxn(SEMAPHORE, KEY, bytes("2"), LEASE).parseEnqueue(answer, 0));
        assertEquals(7, placed.createRevision());
        assertEquals(Set.of(), placed.ahead());
    }

    @Test
    void aQueueCarryingAnotherValueIsAMismatchNamingItAndWhatOfOursToRemove() {
        EnqueueTxn txns = new EnqueueTxn(SEMAPHORE, KEY, bytes("2"), LEASE);
        EnqueueTxn.Mismatch none = assertInstanceOf(EnqueueTxn.Mismatch.class, txns.parseEnqueue(
                agreedFailure(9, false, range(), range(kv("/q/a", 3, "5"))), 0));
        assertEquals(bytes("5"), none.theirs());
        assertEquals(0, none.createRevision(), "nothing of ours was written");
        EnqueueTxn.Mismatch mine = assertInstanceOf(EnqueueTxn.Mismatch.class, txns.parseEnqueue(
                agreedFailure(9, false, range(kv(KEY, 4, "2")), range(kv("/q/a", 3, "5"), kv(KEY, 4, "2"))), 0));
        assertEquals(4, mine.createRevision(), "our key from an earlier try is to be removed");
    }

    @Test
    void anAgreedQueueThatChangedBetweenCompareAndReadIsSentAgain() {
        TxnResponse answer = agreedFailure(9, false, range(), range(kv("/q/a", 3, "2")));
        assertInstanceOf(EnqueueTxn.Changed.class,
                new EnqueueTxn(SEMAPHORE, KEY, bytes("2"), LEASE).parseEnqueue(answer, 0));
    }

    @Test
    void readersAreBlockedOnlyByEarlierWriters() {
        ByteString readers = bytes("/q/read/");
        QueuePolicy read = new QueuePolicy(QUEUE, readers, QueuePolicy.Rule.sharedWith(readers),
                QueuePolicy.Value.nonce());
        ByteString key = bytes("/q/read/1234");
        TxnResponse answer = succeeded(40, range(kv("/q/read/a", 5, "x"), kv("/q/write/b", 9, "y"),
                kv("/q/read/c", 11, "z"), kv(key, 40, OURS)));
        EnqueueTxn.Placed placed = assertInstanceOf(EnqueueTxn.Placed.class,
                new EnqueueTxn(read, key, OURS, LEASE).parseEnqueue(answer, 0));
        assertEquals(Set.of(bytes("/q/write/b")), placed.ahead());
    }

    @Test
    void takeIfFreeWritesOnlyIntoAnEmptyQueueAndReadsTheHeadOtherwise() {
        TxnRequest txn = new EnqueueTxn(MUTEX, KEY, OURS, LEASE).takeIfFree();
        assertEquals(QUEUE, txn.getCompare(0).getKey());
        assertFalse(txn.getCompare(0).getRangeEnd().isEmpty(), "the whole queue");
        assertEquals(0, txn.getCompare(0).getCreateRevision());
        assertEquals(1, txn.getFailure(0).getRequestRange().getLimit());
    }

    @Test
    void takeIfFreeAnswers() {
        EnqueueTxn txns = new EnqueueTxn(MUTEX, KEY, OURS, LEASE);
        EnqueueTxn.Placed free = assertInstanceOf(EnqueueTxn.Placed.class, txns.parseTakeIfFree(
                TxnResponse.newBuilder().setHeader(header(50)).setSucceeded(true).build(), 0));
        assertEquals(50, free.createRevision());
        EnqueueTxn.Placed repeat = assertInstanceOf(EnqueueTxn.Placed.class,
                txns.parseTakeIfFree(headOnly(60, kv(KEY, 50, OURS)), 0));
        assertEquals(50, repeat.createRevision(), "a repeat after a lost answer finds its own key holding");
        assertEquals(60, repeat.revision());
        assertEquals(0, assertInstanceOf(EnqueueTxn.Taken.class,
                txns.parseTakeIfFree(headOnly(60, kv("/q/other", 3, "x")), 0)).leftover());
        assertEquals(44, assertInstanceOf(EnqueueTxn.Taken.class,
                txns.parseTakeIfFree(headOnly(60, kv(KEY, 44, "nonce-old")), 0)).leftover(),
                "the session's own leftover heads the queue: to be removed");
        assertEquals(50, assertInstanceOf(EnqueueTxn.Taken.class,
                txns.parseTakeIfFree(headOnly(60, kv(KEY, 50, OURS)), 50)).leftover(), "retired: not ours");
    }

    @Test
    void aRereadFindsTheKeyAndWhatIsStillAheadOrTheKeyGone() {
        EnqueueTxn txns = new EnqueueTxn(MUTEX, KEY, OURS, LEASE);
        TxnRequest reread = txns.reread(12);
        assertEquals(11, reread.getSuccess(1).getRequestRange().getMaxCreateRevision(), "only keys ahead of ours");
        TxnResponse there = TxnResponse.newBuilder().setHeader(header(90)).setSucceeded(true)
                .addResponses(range(kv(KEY, 12, OURS))).addResponses(range(kv("/q/a", 5, ""))).build();
        EnqueueTxn.Placed placed = assertInstanceOf(EnqueueTxn.Placed.class, txns.parseReread(there, 12));
        assertEquals(Set.of(bytes("/q/a")), placed.ahead());
        assertEquals(90, placed.revision());
        TxnResponse recreated = TxnResponse.newBuilder().setHeader(header(90)).setSucceeded(true)
                .addResponses(range(kv(KEY, 70, OURS))).addResponses(range()).build();
        assertInstanceOf(EnqueueTxn.KeyGone.class, txns.parseReread(recreated, 12), "another version is not ours");
    }

    private static TxnResponse succeeded(long revision, ResponseOp queue) {
        return TxnResponse.newBuilder().setHeader(header(revision)).setSucceeded(true)
                .addResponses(ResponseOp.getDefaultInstance()).addResponses(queue).build();
    }

    private static TxnResponse failed(long revision, ResponseOp key, ResponseOp queue) {
        return TxnResponse.newBuilder().setHeader(header(revision)).setSucceeded(false)
                .addResponses(key).addResponses(queue).build();
    }

    /** The agreed enqueue's Else branch: the inner put-if-empty Txn, the key, the queue with values. */
    private static TxnResponse agreedFailure(long revision, boolean innerPut, ResponseOp key, ResponseOp queue) {
        return TxnResponse.newBuilder().setHeader(header(revision)).setSucceeded(false)
                .addResponses(ResponseOp.newBuilder().setResponseTxn(TxnResponse.newBuilder().setSucceeded(innerPut)))
                .addResponses(key).addResponses(queue).build();
    }

    private static TxnResponse headOnly(long revision, KeyValue head) {
        return TxnResponse.newBuilder().setHeader(header(revision)).setSucceeded(false).addResponses(range(head))
                .build();
    }

    private static ResponseOp range(KeyValue... kvs) {
        return ResponseOp.newBuilder().setResponseRange(RangeResponse.newBuilder().addAllKvs(List.of(kvs))
                .setCount(kvs.length)).build();
    }

    private static ResponseHeader header(long revision) {
        return ResponseHeader.newBuilder().setRevision(revision).build();
    }

    private static KeyValue kv(String key, long createRevision, String value) {
        return kv(bytes(key), createRevision, bytes(value));
    }

    private static KeyValue kv(ByteString key, long createRevision, String value) {
        return kv(key, createRevision, bytes(value));
    }

    private static KeyValue kv(ByteString key, long createRevision, ByteString value) {
        return KeyValue.newBuilder().setKey(key).setCreateRevision(createRevision).setModRevision(createRevision)
                .setValue(value).build();
    }

    private static KeyValue kv(String key, long createRevision, ByteString value) {
        return kv(bytes(key), createRevision, value);
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }
}
