package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.etcdlock.chaos.TcpProxy;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An unlock whose delete got no answer ends the hold for the listener then, as a loss saying the outcome is unknown;
 * before, the hold stayed recorded until the session closed and was then reported as lost by the close, with a hold
 * time that ran on past the real release.
 */
class UnlockWithoutAnswerIsReportedAtOnceTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void theListenerHearsOfTheUnansweredUnlockAtOnceAndNothingAtSessionClose() throws Exception {
        RecordingLockListener heard = new RecordingLockListener();
        String name = "/unanswered-unlock";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                EtcdLockClient client = EtcdLockClient.builder().endpoints(proxy.endpoint())
                        .requestTimeout(Duration.ofSeconds(1)).listener(heard).build()) {
            Session session = client.newSession(Duration.ofSeconds(30));
            LockHandle handle = session.mutex(name).lock(Duration.ofSeconds(5));
            heard.await(name, 1);
            proxy.hang();
            assertThrows(EtcdUnavailableException.class, handle::unlock);
            List<RecordingLockListener.Call> calls = heard.await(name, 2);
            assertEquals(List.of("acquired", "lost"), calls.stream().map(RecordingLockListener.Call::method).toList());
            assertInstanceOf(EtcdUnavailableException.class, calls.get(1).why());
            proxy.pass();
            session.close();
            // the close must not report the same hold again
            Session probe = client.newSession();
            probe.mutex(name).lock(Duration.ofSeconds(5)).unlock();
            probe.close();
            List<String> methods = heard.await(name, 4).stream().map(RecordingLockListener.Call::method).toList();
            assertEquals(List.of("acquired", "lost", "acquired", "released"), methods);
        }
    }
}
