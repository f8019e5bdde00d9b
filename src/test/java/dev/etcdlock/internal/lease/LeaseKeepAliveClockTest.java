package dev.etcdlock.internal.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.internal.FakeClock;
import dev.etcdlock.internal.proto.LeaseGrantRequest;
import dev.etcdlock.internal.proto.LeaseGrantResponse;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseKeepAliveRequest;
import dev.etcdlock.internal.proto.LeaseKeepAliveResponse;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.LeaseRevokeResponse;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.LeaseTimeToLiveResponse;
import dev.etcdlock.internal.transport.FakeCall;
import dev.etcdlock.internal.transport.FakeChannel;
import dev.etcdlock.internal.transport.Transport;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * The keep-alive loop's timing on a fake clock, with the test answering for etcd on a fake channel: when
 * keep-alives go out, how validity follows their answers, and when a silent stream is replaced. No etcd, no sleeps.
 */
class LeaseKeepAliveClockTest {
    private static final long MS = 1_000_000;

    private final FakeClock clock = new FakeClock();
    private final FakeChannel etcd = new FakeChannel();
    private final Transport transport = Transport.over(etcd, clock.newContext(), Duration.ofSeconds(10));
    private final LeaseManager leases = new LeaseManager(transport, clock);

    /** Grants a lease, etcd answering at once with {@code ttlSeconds}; returns it and the time the grant was sent. */
    private Lease grant(long id, long ttlSeconds) {
        CompletableFuture<Lease> granted = leases.grant(Duration.ofSeconds(ttlSeconds));
        FakeCall<LeaseGrantRequest, LeaseGrantResponse> call = etcd.last(LeaseGrpc.getLeaseGrantMethod());
        assertEquals(ttlSeconds, call.lastRequest().getTTL());
        call.answer(LeaseGrantResponse.newBuilder().setID(id).setTTL(ttlSeconds).build());
        assertTrue(granted.isDone(), "granted in the answer's callback, on this thread");
        return granted.join();
    }

    private List<FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>> streams() {
        return etcd.calls(LeaseGrpc.getLeaseKeepAliveMethod());
    }

    private FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> stream() {
        return etcd.last(LeaseGrpc.getLeaseKeepAliveMethod());
    }

    private static void answer(FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> stream, long id, long ttl) {
        stream.respond(LeaseKeepAliveResponse.newBuilder().setID(id).setTTL(ttl).build());
    }

    private void forwardMs(long ms) {
        clock.forward(Duration.ofMillis(ms));
    }

    @Test
    void validityFollowsTheSendTimeOfTheLastAnsweredKeepAliveAndLapsesWithoutAnswers() {
        long grantedAt = clock.nanoTime();
        Lease lease = grant(7, 3); // keep-alive every second
        assertEquals(grantedAt + 2_970 * MS, lease.validUntilNanos(), "TTL from the grant's send, less 1 %");
        assertEquals(1, streams().size(), "the keep-alive stream opens with the first lease");
        assertEquals(List.of(LeaseKeepAliveRequest.newBuilder().setID(7).build()), stream().requests(),
                "and sends its keep-alive at once");

        forwardMs(400);
        answer(stream(), 7, 3);
        assertEquals(grantedAt + 2_970 * MS, lease.validUntilNanos(), "that keep-alive went out with the grant");

        forwardMs(600);
        assertEquals(2, stream().requests().size(), "the next one a TTL/3 later");
        forwardMs(300);
        answer(stream(), 7, 3); // answered 300 ms after its send
        assertEquals(grantedAt + 1_000 * MS + 2_970 * MS, lease.validUntilNanos(),
                "validity counts from the keep-alive's send, not its answer");

        // etcd answers nothing more: keep-alives still go out every second, and after a whole second without an
        // answer on a new stream; validity does not move
        FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> first = stream();
        forwardMs(700); // 2 s after the grant
        assertEquals(3, first.requests().size());
        forwardMs(1_000);
        assertTrue(first.isCancelled(), "the keep-alive sent at 2 s has waited a whole interval");
        forwardMs(50);
        assertEquals(2, streams().size());
        assertEquals(1, stream().requests().size(), "the new stream sends the due keep-alive");
        forwardMs(919); // 3.969 s after the grant
        assertTrue(lease.isValid());
        assertFalse(lease.done().isDone());

        forwardMs(1);
        assertFalse(lease.isValid(), "invalid the moment its validity ends");
        CompletionException e = assertThrows(CompletionException.class,
                () -> lease.done().join());
        LeaseLostException lost = assertInstanceOf(LeaseLostException.class, e.getCause());
        assertTrue(lost.getMessage().contains("no keep-alive answer"), lost.getMessage());
        assertEquals(LeaseRevokeRequest.newBuilder().setID(7).build(),
                etcd.last(LeaseGrpc.getLeaseRevokeMethod()).lastRequest(),
                "a lease given up without etcd's word is revoked, so that its keys do not outlive it there");
        int sent = stream().requests().size();
        forwardMs(10_000);
        assertEquals(sent, stream().requests().size(), "no keep-alive for a lost lease");
    }

    @Test
    void aKeepAliveAnsweredWithTtlZeroLosesTheLeaseAtOnce() {
        Lease lease = grant(7, 30);
        answer(stream(), 7, 0); // etcd: expired, or revoked by somebody else
        assertFalse(lease.isValid());
        LeaseLostException lost = assertInstanceOf(LeaseLostException.class,
                lease.done().handle((v, t) -> t).join());
        assertTrue(lost.getMessage().contains("expired or revoked"), lost.getMessage());
        assertTrue(etcd.calls(LeaseGrpc.getLeaseRevokeMethod()).isEmpty(), "nothing to revoke: etcd has no lease");
        forwardMs(60_000);
        assertEquals(1, stream().requests().size(), "no keep-alives after the loss");
    }

    @Test
    void aStreamThatLeavesAKeepAliveUnansweredForAWholeIntervalIsReplaced() {
        Lease lease = grant(7, 30); // keep-alive every 10 s
        answer(stream(), 7, 30);
        forwardMs(10_000);
        assertEquals(2, stream().requests().size());
        FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> stalled = stream();

        forwardMs(9_999);
        assertFalse(stalled.isCancelled(), "less than an interval without an answer");
        forwardMs(1);
        assertTrue(stalled.isCancelled(), "a whole interval without an answer: its member may be paused");
        assertEquals(2, stalled.requests().size(), "the due keep-alive goes to the next stream, not this one");

        long cancelledAt = clock.nanoTime();
        forwardMs(50); // the reopen's backoff is 25 to 50 ms
        assertEquals(2, streams().size());
        assertEquals(2, leases.streamsOpened());
        assertEquals(List.of(LeaseKeepAliveRequest.newBuilder().setID(7).build()), stream().requests());
        answer(stream(), 7, 30);
        long resentAfter = lease.validUntilNanos() - 29_700 * MS - cancelledAt;
        assertTrue(resentAfter >= 25 * MS && resentAfter <= 50 * MS, "valid from the new stream's keep-alive, "
                + "sent " + resentAfter / MS + " ms after the old stream's cancel");

        forwardMs(FRESH_DEADLINE_MS * 5);
        assertEquals(2, streams().size(), "an answered stream stays");
        assertTrue(lease.isValid());
    }

    private static final long FRESH_DEADLINE_MS = LeaseManager.FRESH_STREAM_DEADLINE.toMillis();

    @Test
    void aNewStreamThatDoesNotAnswerWithinTheFreshStreamDeadlineIsReplaced() {
        grant(7, 30); // interval 10 s: the deadline is FRESH_STREAM_DEADLINE (2 s)
        FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> first = stream();
        forwardMs(FRESH_DEADLINE_MS - 1);
        assertFalse(first.isCancelled());
        forwardMs(1);
        assertTrue(first.isCancelled(), "silent past the deadline");
        forwardMs(50); // the first reopen's backoff is at most 50 ms
        assertEquals(2, streams().size());
        FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> second = stream();
        forwardMs(FRESH_DEADLINE_MS);
        assertTrue(second.isCancelled(), "the replacement gets the same deadline");
        forwardMs(100); // the backoff grows while no stream answers
        assertEquals(3, streams().size());
        answer(stream(), 7, 30);
        forwardMs(FRESH_DEADLINE_MS * 5);
        assertEquals(3, streams().size());
    }

    @Test
    void theFreshStreamDeadlineIsAtMostHalfTheShortestInterval() {
        grant(7, 3); // interval 1 s: the deadline is 500 ms
        FakeCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> first = stream();
        forwardMs(499);
        assertFalse(first.isCancelled());
        forwardMs(1);
        assertTrue(first.isCancelled());
    }

    @Test
    void aBrokenStreamIsReopenedWithAKeepAliveForEveryLease() {
        grant(7, 30);
        grant(8, 60);
        answer(stream(), 7, 30);
        answer(stream(), 8, 60);
        assertEquals(1, streams().size(), "one stream for all leases");

        stream().close(Status.UNAVAILABLE.withDescription("member went away"));
        forwardMs(50);
        assertEquals(2, streams().size());
        assertEquals(List.of(7L, 8L), stream().requests().stream().map(LeaseKeepAliveRequest::getID).sorted()
                .toList());
    }

    @Test
    void revokingEndsTheLeaseNormallyAndStopsItsKeepAlives() {
        Lease lease = grant(7, 3);
        answer(stream(), 7, 3);
        CompletableFuture<Void> revoked = leases.revoke(lease);
        assertTrue(lease.done().isDone() && !lease.done().isCompletedExceptionally(), "ended by its owner");
        assertTrue(lease.endedByOwner());
        assertFalse(revoked.isDone(), "until etcd answers");
        FakeCall<LeaseRevokeRequest, LeaseRevokeResponse> revoke = etcd.last(LeaseGrpc.getLeaseRevokeMethod());
        assertEquals(7, revoke.lastRequest().getID());
        revoke.answer(LeaseRevokeResponse.getDefaultInstance());
        assertTrue(revoked.isDone() && !revoked.isCompletedExceptionally());
        forwardMs(10_000);
        assertEquals(1, stream().requests().size(), "no keep-alive after the revoke");
    }

    @Test
    void anAdoptedLeaseIsValidForItsRemainingTtlAndNotRevokedWhenLost() {
        long sentAt = clock.nanoTime();
        CompletableFuture<Lease> adopting = leases.adopt(9);
        FakeCall<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse> ttl =
                etcd.last(LeaseGrpc.getLeaseTimeToLiveMethod());
        assertEquals(9, ttl.lastRequest().getID());
        forwardMs(100);
        ttl.answer(LeaseTimeToLiveResponse.newBuilder().setID(9).setTTL(4).setGrantedTTL(6).build());
        Lease lease = adopting.join();
        assertEquals(6, lease.ttlSeconds(), "its keep-alive interval follows the granted TTL");
        assertEquals(sentAt + 3_960 * MS, lease.validUntilNanos(), "valid for what is left of it");
        assertTrue(stream().requests().contains(LeaseKeepAliveRequest.newBuilder().setID(9).build()),
                "kept alive at once");

        forwardMs(3_859); // nobody answers: 3.959 s after the request
        assertTrue(lease.isValid());
        forwardMs(1);
        assertTrue(lease.done().isCompletedExceptionally());
        forwardMs(10_000);
        assertTrue(etcd.calls(LeaseGrpc.getLeaseRevokeMethod()).isEmpty(),
                "another process may still keep it alive: not revoked");
    }

    @Test
    void closingRevokesEveryLeaseThenEndsTheStream() {
        Lease seven = grant(7, 30);
        Lease eight = grant(8, 30);
        CompletableFuture<Void> closed = leases.close(Duration.ofSeconds(2));
        List<FakeCall<LeaseRevokeRequest, LeaseRevokeResponse>> revokes = etcd.calls(LeaseGrpc.getLeaseRevokeMethod());
        assertEquals(List.of(7L, 8L), revokes.stream().map(c -> c.lastRequest().getID()).sorted().toList());
        assertTrue(seven.endedByOwner() && eight.endedByOwner());
        assertFalse(closed.isDone(), "waits for etcd's answers");
        assertFalse(stream().isCancelled());
        for (FakeCall<LeaseRevokeRequest, LeaseRevokeResponse> revoke : revokes) {
            revoke.answer(LeaseRevokeResponse.getDefaultInstance());
        }
        assertTrue(closed.isDone());
        assertTrue(stream().isCancelled());
        CompletionException e = assertThrows(CompletionException.class,
                () -> leases.grant(Duration.ofSeconds(5)).join());
        assertInstanceOf(ClientClosedException.class, e.getCause());
    }
}
