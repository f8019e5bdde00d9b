package dev.etcdlock.internal.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.internal.FakeClock;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.ResponseHeader;
import dev.etcdlock.internal.proto.WatchCreateRequest;
import dev.etcdlock.internal.proto.WatchGrpc;
import dev.etcdlock.internal.proto.WatchRequest;
import dev.etcdlock.internal.proto.WatchResponse;
import dev.etcdlock.internal.transport.FakeCall;
import dev.etcdlock.internal.transport.FakeChannel;
import dev.etcdlock.internal.transport.Transport;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The watch multiplexer on a fake clock, with the test answering for etcd on a fake Watch stream: routing of
 * create answers and events, history, linger, compaction, and the heartbeat that probes a silent stream and
 * abandons a dead one. No etcd, no sleeps; what only etcd can show stays in {@link WatchMultiplexerTest}.
 */
class WatchMultiplexerClockTest {
    private static final Duration LINGER = Duration.ofSeconds(30);
    private static final long PROBE_AFTER_MS = WatchMultiplexer.PROBE_AFTER_SILENCE.toMillis();
    private static final long DEADLINE_MS = WatchMultiplexer.ANSWER_DEADLINE.toMillis();
    private static final ByteString A = ByteString.copyFromUtf8("/a");
    private static final ByteString B = ByteString.copyFromUtf8("/b");

    private final FakeClock clock = new FakeClock();
    private final FakeChannel etcd = new FakeChannel();
    private final Transport transport = Transport.over(etcd, clock.newContext(), Duration.ofSeconds(10));
    private final WatchMultiplexer watches = new WatchMultiplexer(transport, LINGER, clock);

    private List<FakeCall<WatchRequest, WatchResponse>> streams() {
        return etcd.calls(WatchGrpc.getWatchMethod());
    }

    private FakeCall<WatchRequest, WatchResponse> stream() {
        return etcd.last(WatchGrpc.getWatchMethod());
    }

    private static List<WatchCreateRequest> creates(FakeCall<WatchRequest, WatchResponse> stream) {
        List<WatchCreateRequest> creates = new ArrayList<>();
        for (WatchRequest r : stream.requests()) {
            if (r.hasCreateRequest()) {
                creates.add(r.getCreateRequest());
            }
        }
        return creates;
    }

    private static List<Long> cancels(FakeCall<WatchRequest, WatchResponse> stream) {
        List<Long> ids = new ArrayList<>();
        for (WatchRequest r : stream.requests()) {
            if (r.hasCancelRequest()) {
                ids.add(r.getCancelRequest().getWatchId());
            }
        }
        return ids;
    }

    private static WatchCreateRequest lastCreate(FakeCall<WatchRequest, WatchResponse> stream) {
        List<WatchCreateRequest> creates = creates(stream);
        return creates.get(creates.size() - 1);
    }

    private static WatchResponse created(long watchId) {
        return WatchResponse.newBuilder().setCreated(true).setWatchId(watchId).build();
    }

    private static WatchResponse cancelled(long watchId) {
        return WatchResponse.newBuilder().setCanceled(true).setWatchId(watchId).build();
    }

    private static WatchResponse events(long watchId, ByteString key, long... revisions) {
        WatchResponse.Builder r = WatchResponse.newBuilder().setWatchId(watchId)
                .setHeader(ResponseHeader.newBuilder().setRevision(revisions[revisions.length - 1]));
        for (long rev : revisions) {
            r.addEvents(Event.newBuilder().setType(Event.EventType.PUT).setKv(KeyValue.newBuilder().setKey(key)
                    .setModRevision(rev).setValue(ByteString.copyFromUtf8("v" + rev))));
        }
        return r.build();
    }

    private static List<Long> revisions(RecordingListener listener) {
        return listener.events().stream().map(e -> e.getKv().getModRevision()).toList();
    }

    private void forwardMs(long ms) {
        clock.forward(Duration.ofMillis(ms));
    }

    @Test
    void twoWatchesOnOneStreamGetTheirOwnCreateAnswersAndEvents() {
        RecordingListener onA = new RecordingListener();
        RecordingListener onB = new RecordingListener();
        WatchMultiplexer.Subscription a = watches.subscribe(WatchSpec.key(A), 10, onA);
        WatchMultiplexer.Subscription b = watches.subscribe(WatchSpec.prefix(B), 20, onB);
        assertEquals(1, streams().size(), "one stream for both");
        List<WatchCreateRequest> creates = creates(stream());
        assertEquals(2, creates.size());
        assertEquals(A, creates.get(0).getKey());
        assertEquals(11, creates.get(0).getStartRevision(), "from the revision after the one asked for");
        assertTrue(creates.get(0).getProgressNotify());
        assertEquals(B, creates.get(1).getKey());
        assertEquals(21, creates.get(1).getStartRevision());
        assertFalse(creates.get(1).getRangeEnd().isEmpty(), "a prefix watch has a range end");
        long idA = creates.get(0).getWatchId();
        long idB = creates.get(1).getWatchId();
        assertTrue(idA != idB, "ids chosen by the client, one per watch");

        stream().respond(created(idA));
        assertTrue(a.ready().isDone());
        assertFalse(b.ready().isDone(), "b's create is not answered yet");
        stream().respond(created(idB));
        assertTrue(b.ready().isDone());

        stream().respond(events(idB, B, 21, 22));
        stream().respond(events(idA, A, 11));
        assertEquals(List.of(11L), revisions(onA));
        assertEquals(List.of(21L, 22L), revisions(onB));
        stream().respond(events(12345, A, 12)); // a watch this client does not have: dropped
        assertEquals(List.of(11L), revisions(onA));
    }

    @Test
    void aSubscriberAfterARevisionTheWatchHasPassedIsServedFromItsHistory() {
        RecordingListener first = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, first);
        stream().respond(created(1));
        stream().respond(events(1, A, 11, 12, 13));

        RecordingListener fromStart = new RecordingListener();
        RecordingListener fromMiddle = new RecordingListener();
        WatchMultiplexer.Subscription s = watches.subscribe(WatchSpec.key(A), 10, fromStart);
        watches.subscribe(WatchSpec.key(A), 12, fromMiddle);
        assertEquals(1, creates(stream()).size(), "both joined the open watch, no new etcd watch");
        assertTrue(s.ready().isDone(), "ready at once: the watch is confirmed");
        assertEquals(List.of(11L, 12L, 13L), revisions(fromStart));
        assertEquals(List.of(13L), revisions(fromMiddle), "only what is after its revision");

        stream().respond(events(1, A, 14));
        assertEquals(List.of(11L, 12L, 13L, 14L), revisions(first));
        assertEquals(List.of(11L, 12L, 13L, 14L), revisions(fromStart));
        assertEquals(List.of(13L, 14L), revisions(fromMiddle));
    }

    @Test
    void aSubscriberFromBeforeTheTrimmedHistoryGetsAWatchOfItsOwn() {
        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        stream().respond(created(1));
        int count = WatchMultiplexer.HISTORY_LIMIT + 10;
        stream().respond(events(1, A, LongStream.rangeClosed(11, 10 + count).toArray())); // 11..276

        // the history keeps the last HISTORY_LIMIT events: 21..276
        RecordingListener oldestKept = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 20, oldestKept);
        assertEquals(1, creates(stream()).size(), "served from the history");
        assertEquals(LongStream.rangeClosed(21, 10 + count).boxed().toList(), revisions(oldestKept));

        RecordingListener tooOld = new RecordingListener();
        WatchMultiplexer.Subscription s = watches.subscribe(WatchSpec.key(A), 19, tooOld);
        assertEquals(2, creates(stream()).size(), "event 20 was trimmed: a new etcd watch");
        WatchCreateRequest create = lastCreate(stream());
        assertEquals(20, create.getStartRevision());
        assertTrue(revisions(tooOld).isEmpty());
        assertFalse(s.ready().isDone());
        stream().respond(created(create.getWatchId()));
        stream().respond(events(create.getWatchId(), A, 20, 21));
        assertEquals(List.of(20L, 21L), revisions(tooOld));
    }

    @Test
    void aSilentStreamIsProbedAndKeptWhileItAnswers() {
        RecordingListener listener = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, listener);
        stream().respond(created(1));
        forwardMs(PROBE_AFTER_MS - 1);
        assertEquals(0, watches.probes());
        for (int round = 1; round <= 5; round++) {
            forwardMs(round == 1 ? 1 : PROBE_AFTER_MS);
            assertEquals(round, watches.probes(), "probed after " + PROBE_AFTER_MS + " ms of silence");
            WatchCreateRequest probe = lastCreate(stream());
            assertEquals(A, probe.getKey(), "on a key the user may read");
            assertEquals(0, probe.getStartRevision(), "from the current revision: answered at once");
            assertFalse(probe.getProgressNotify());
            stream().respond(created(probe.getWatchId())); // etcd answers the probe at once
            assertEquals(probe.getWatchId(), cancels(stream()).get(cancels(stream()).size() - 1),
                    "the probe is cancelled as soon as it is confirmed");
            stream().respond(events(probe.getWatchId(), A, 100 + round)); // raced the cancel
            stream().respond(cancelled(probe.getWatchId()));
        }
        assertEquals(0, watches.streamsAbandoned());
        assertEquals(1, streams().size());
        assertTrue(listener.events().isEmpty(), "a probe's events go to nobody");
    }

    @Test
    void aStreamThatCarriesEventsIsNotProbed() {
        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        stream().respond(created(1));
        for (long rev = 11; rev < 30; rev++) {
            forwardMs(PROBE_AFTER_MS - 1);
            stream().respond(events(1, A, rev));
        }
        assertEquals(0, watches.probes());
    }

    @Test
    void aProbedStreamThatStaysSilentIsAbandonedAndItsWatchesResumeWhereTheyWere() {
        RecordingListener listener = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, listener);
        stream().respond(created(1));
        stream().respond(events(1, A, 11, 12));
        FakeCall<WatchRequest, WatchResponse> silent = stream();
        forwardMs(PROBE_AFTER_MS);
        assertEquals(1, watches.probes());
        forwardMs(DEADLINE_MS - 1);
        assertFalse(silent.isCancelled(), "the probe's answer may still come");
        forwardMs(1);
        assertTrue(silent.isCancelled(), "nothing at all within the deadline: its member is paused or cut off");
        assertEquals(1, watches.streamsAbandoned());

        forwardMs(50); // the reopen's first backoff is 25 to 50 ms
        assertEquals(2, streams().size());
        List<WatchCreateRequest> resumed = creates(stream());
        assertEquals(1, resumed.size(), "the watch, not the probe");
        assertEquals(13, resumed.get(0).getStartRevision(), "after the last event delivered");
        stream().respond(created(resumed.get(0).getWatchId()));
        stream().respond(events(resumed.get(0).getWatchId(), A, 13));
        assertEquals(List.of(11L, 12L, 13L), revisions(listener), "nothing lost, nothing repeated");
        assertFalse(listener.error.isDone(), "a resume is invisible to the subscriber");
    }

    @Test
    void aNewStreamWhoseCreatesGoUnansweredIsAbandoned() {
        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        FakeCall<WatchRequest, WatchResponse> first = stream();
        forwardMs(DEADLINE_MS - 1);
        assertFalse(first.isCancelled());
        assertEquals(0, watches.probes(), "the creates are the new stream's probe");
        forwardMs(1);
        assertTrue(first.isCancelled());
        forwardMs(50);
        assertEquals(2, streams().size());
        assertEquals(11, lastCreate(stream()).getStartRevision(), "created again, from where it was asked");
        stream().respond(created(lastCreate(stream()).getWatchId()));
        forwardMs(PROBE_AFTER_MS + DEADLINE_MS - 1); // until just before an unanswered probe's deadline
        assertEquals(1, watches.streamsAbandoned(), "a stream that answered is kept");
        assertEquals(1, watches.probes());
    }

    @Test
    void aWatchLingersAfterItsLastSubscriberIsReusedThenCancelledWhenTheLingerEnds() {
        WatchMultiplexer.Subscription first = watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        stream().respond(created(1));
        first.cancel();
        forwardMs(LINGER.toMillis() - 1);
        assertTrue(cancels(stream()).isEmpty(), "lingering");
        assertEquals(0, watches.probes(), "nobody listens: no heartbeat");

        RecordingListener again = new RecordingListener();
        WatchMultiplexer.Subscription second = watches.subscribe(WatchSpec.key(A), 10, again);
        assertTrue(second.ready().isDone(), "joined the lingering watch");
        assertEquals(1, creates(stream()).size());
        stream().respond(events(1, A, 11));
        assertEquals(List.of(11L), revisions(again));

        second.cancel();
        forwardMs(LINGER.toMillis() - 1);
        assertTrue(cancels(stream()).isEmpty(), "the linger starts again with each last leave");
        forwardMs(1);
        assertEquals(List.of(1L), cancels(stream()));
        stream().respond(cancelled(1));

        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        assertEquals(2, creates(stream()).size(), "a cancelled watch is not reused");
        assertEquals(1, streams().size());
    }

    @Test
    void aLingerThatEndsBeforeTheCreateIsAnsweredWaitsForTheAnswer() {
        WatchMultiplexer.Subscription sub = watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        sub.cancel();
        forwardMs(LINGER.toMillis());
        assertTrue(cancels(stream()).isEmpty(), "etcd knows no watch to cancel yet");
        stream().respond(created(1));
        assertTrue(cancels(stream()).isEmpty(), "lingers on from here");
        RecordingListener joined = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, joined);
        assertEquals(1, creates(stream()).size(), "and can still be joined");
        stream().respond(events(1, A, 11));
        assertEquals(List.of(11L), revisions(joined));
    }

    @Test
    void aRefusedCreateFailsOnlyItsOwnWatchIdentifiedByOrder() {
        RecordingListener onA = new RecordingListener();
        RecordingListener onB = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, onA);
        WatchMultiplexer.Subscription b = watches.subscribe(WatchSpec.key(B), 10, onB);
        // etcd puts watch id -1 on a refused create: only the order tells whose it is
        stream().respond(WatchResponse.newBuilder().setCreated(true).setCanceled(true).setWatchId(-1)
                .setCancelReason("etcdserver: permission denied").build());
        assertTrue(onA.error.getNow(null).getMessage().contains("permission denied"),
                String.valueOf(onA.error.getNow(null)));
        assertFalse(onB.error.isDone());
        stream().respond(created(2));
        assertTrue(b.ready().isDone());
        assertFalse(stream().isCancelled(), "the stream and its other watches go on");
    }

    @Test
    void anEtcdThatIgnoresClientChosenIdsIsRefusedRatherThanMisrouted() {
        RecordingListener listener = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, listener);
        stream().respond(created(0)); // etcd before 3.4 numbers watches itself
        Throwable e = listener.error.getNow(null);
        assertInstanceOf(IllegalStateException.class, e);
        assertTrue(e.getMessage().contains("3.4"), e.getMessage());
    }

    /** A watch whose last subscriber leaves while its re-create after a break is on the way is cancelled then. */
    @Test
    void aWatchWhoseLingerEndsDuringAResumeIsCancelledOnceEtcdConfirmsIt() {
        WatchMultiplexer.Subscription sub = watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        stream().respond(created(1));
        stream().close(Status.UNAVAILABLE.withDescription("member went away"));
        forwardMs(50);
        assertEquals(2, streams().size());
        long recreated = lastCreate(stream()).getWatchId();

        sub.cancel();
        forwardMs(LINGER.toMillis());
        assertTrue(cancels(stream()).isEmpty(), "nothing to cancel before etcd confirms the create");
        stream().respond(created(recreated));
        assertEquals(List.of(recreated), cancels(stream()), "not left streaming to nobody");
        stream().respond(cancelled(recreated));
        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        assertEquals(2, creates(stream()).size(), "a new subscriber gets a new watch");
    }

    @Test
    void aCompactedResumeFailsOnlyTheSubscribersThatLostEventsAndReattachesTheOthers() {
        RecordingListener early = new RecordingListener();
        RecordingListener late = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, early);
        stream().respond(created(1));
        watches.subscribe(WatchSpec.key(A), 20, late); // joins the idle shared watch, which resumes from 11
        assertEquals(1, creates(stream()).size());

        stream().close(Status.UNAVAILABLE);
        forwardMs(50);
        WatchCreateRequest resume = lastCreate(stream());
        assertEquals(11, resume.getStartRevision());
        stream().respond(created(resume.getWatchId()));
        stream().respond(WatchResponse.newBuilder().setWatchId(resume.getWatchId()).setCanceled(true)
                .setCompactRevision(15).build()); // etcd compacted up to 15 meanwhile

        WatchCompactedException e = assertInstanceOf(WatchCompactedException.class, early.error.getNow(null));
        assertEquals(15, e.compactRevision());
        assertFalse(late.error.isDone(), "wanted events from 21 only, which etcd still has");
        WatchCreateRequest own = lastCreate(stream());
        assertEquals(21, own.getStartRevision(), "on a watch of its own from its revision");
        stream().respond(created(own.getWatchId()));
        stream().respond(events(own.getWatchId(), A, 21));
        assertEquals(List.of(21L), revisions(late));
        assertTrue(early.events().isEmpty());
    }

    @Test
    void aWatchsProgressNoticeMovesItsResumePointAndAStreamWideOneDoesNot() {
        watches.subscribe(WatchSpec.key(A), 10, new RecordingListener());
        stream().respond(created(1));
        stream().respond(WatchResponse.newBuilder().setWatchId(1)
                .setHeader(ResponseHeader.newBuilder().setRevision(50)).build());
        stream().respond(WatchResponse.newBuilder().setWatchId(-1)
                .setHeader(ResponseHeader.newBuilder().setRevision(80)).build());
        stream().close(Status.UNAVAILABLE);
        forwardMs(50);
        assertEquals(51, lastCreate(stream()).getStartRevision());
    }

    @Test
    void closingEndsEverySubscriptionAndTheStream() {
        RecordingListener listener = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, listener);
        stream().respond(created(1));
        watches.close();
        assertInstanceOf(ClientClosedException.class, listener.error.getNow(null));
        assertTrue(stream().isCancelled());
        RecordingListener after = new RecordingListener();
        watches.subscribe(WatchSpec.key(A), 10, after);
        assertInstanceOf(ClientClosedException.class, after.error.getNow(null));
        forwardMs(60_000);
        assertEquals(1, streams().size(), "nothing reopened");
        assertEquals(0, clock.pendingTasks(), "no timer left behind");
    }
}
