package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.etcdlock.Await;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.Election;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LeaderInfo;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An {@code Election.observe()} subscriber whose reads keep failing (etcd unreachable) retries them, each after a
 * pause, and is otherwise waiting on gRPC; closing the client must end the subscription with
 * {@link ClientClosedException} whichever of the two it is doing (issue 13, item 6). This test does not choose: on
 * this machine the close mostly finds a read in gRPC's hands, so it passed on the serial context that dropped delayed
 * tasks at shutdown too; {@code SerialContextTest} pins that case down.
 */
class ObserverWithFailingReadsHearsTheCloseTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void anObserverWaitingToRetryItsReadHearsTheClientsClose() throws Exception {
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)))) {
            EtcdLockClient client = EtcdLockClient.builder().endpoints(proxy.endpoint())
                    .requestTimeout(Duration.ofSeconds(2)).build();
            // observing needs no lease: with the session closed the client's close has nothing to revoke and is
            // over in milliseconds
            Session session = client.newSession();
            Election election = session.election("/observer-backoff/election");
            session.close();
            proxy.refuse(); // etcd is down for this client from now on: every read fails
            long before = proxy.connectionsAccepted();
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            election.observe().subscribe(new Flow.Subscriber<LeaderInfo>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(LeaderInfo item) {
                    ended.completeExceptionally(new AssertionError("no leader can be read: " + item));
                }

                @Override
                public void onError(Throwable failure) {
                    ended.complete(failure);
                }

                @Override
                public void onComplete() {
                    ended.complete(null);
                }
            });
            // the reads fail and are retried, each after a longer pause (up to 2 s)
            Await.until(() -> proxy.connectionsAccepted() >= before + 3, Duration.ofSeconds(30));
            assertFalse(ended.isDone(), "a failed read is retried, not the end of the stream");
            long closing = System.nanoTime();
            client.close();
            Throwable why = ended.get(10, TimeUnit.SECONDS);
            System.out.println("observer ended " + (System.nanoTime() - closing) / 1_000_000 + " ms after close() "
                    + "began, with " + why);
            assertInstanceOf(ClientClosedException.class, why);
        }
    }
}
