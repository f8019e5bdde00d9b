package dev.etcdlock.internal.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs real etcd processes; needs the etcd binary (see {@link EtcdBinary}). */
@Timeout(60)
class LocalEtcdClusterTest {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    @Test
    void singleMemberServesAndCloseLeavesNothingBehind() throws Exception {
        LocalEtcdCluster cluster = LocalEtcdCluster.start(1);
        long pid;
        Path dataDir;
        try {
            assertEquals(1, cluster.size());
            assertEquals(List.of(cluster.clientEndpoint(0)), cluster.clientEndpoints());
            assertTrue(cluster.clientEndpoint(0).startsWith("http://127.0.0.1:"), cluster.clientEndpoint(0));
            assertTrue(health(cluster, 0).contains("\"health\":\"true\""));
            assertEquals(0, cluster.leaderIndex());
            pid = cluster.pid(0);
            dataDir = cluster.dataDir(0);
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            assertTrue(Files.isDirectory(dataDir.resolve("member")), "etcd should have initialized " + dataDir);
            assertTrue(cluster.toString().contains(Long.toString(pid)), cluster.toString());
        } finally {
            cluster.close();
        }
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "etcd pid " + pid + " survived");
        assertFalse(Files.exists(dataDir), dataDir + " was not deleted");
        assertFalse(Files.exists(dataDir.getParent()), dataDir.getParent() + " was not deleted");
        cluster.close(); // idempotent
    }

    @Test
    void memberThatExitsAtOnceFailsFastWithItsLog() {
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LocalEtcdCluster.start(1, List.of("--no-such-flag-for-this-test")));
        assertTrue(e.getMessage().contains("no-such-flag-for-this-test"), e.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 10, "should not wait for the timeout");
    }

    @Test
    void threeMemberClusterSurvivesLeaderLossRestartAndPause() throws Exception {
        List<Long> pids = new ArrayList<>();
        List<Path> dataDirs = new ArrayList<>();
        try (LocalEtcdCluster cluster = LocalEtcdCluster.start(3)) {
            assertEquals(3, cluster.size());
            for (int i = 0; i < 3; i++) {
                pids.add(cluster.pid(i));
                dataDirs.add(cluster.dataDir(i));
                assertTrue(health(cluster, i).contains("\"health\":\"true\""), "m" + i);
            }

            int leader = awaitLeader(cluster::leaderIndex, -1);
            cluster.kill(leader);
            assertFalse(cluster.isRunning(leader));
            assertFalse(ProcessHandle.of(pids.get(leader)).map(ProcessHandle::isAlive).orElse(false));
            int newLeader = awaitLeader(cluster::leaderIndex, leader);
            assertNotEquals(leader, newLeader);

            cluster.restart(leader);
            assertTrue(cluster.isRunning(leader));
            pids.add(cluster.pid(leader));
            assertTrue(health(cluster, leader).contains("\"health\":\"true\""));

            int follower = (cluster.leaderIndex() + 1) % 3;
            cluster.pause(follower);
            assertThrows(HttpTimeoutException.class, () -> health(cluster, follower));
            cluster.resume(follower);
            assertTrue(health(cluster, follower).contains("\"health\":\"true\""));

            // the whole cluster down: no member can come back alone, they restart together
            for (int i = 0; i < 3; i++) {
                cluster.kill(i);
            }
            cluster.restartAll(List.of(0, 1, 2));
            for (int i = 0; i < 3; i++) {
                pids.add(cluster.pid(i));
                assertTrue(health(cluster, i).contains("\"health\":\"true\""), "m" + i + " after restartAll");
            }
            awaitLeader(cluster::leaderIndex, -1);
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "etcd pid " + pid + " survived");
        }
        for (Path dir : dataDirs) {
            assertFalse(Files.exists(dir), dir + " was not deleted");
        }
    }

    @Test
    void closeKillsPausedMembers() throws Exception {
        long pid;
        try (LocalEtcdCluster cluster = LocalEtcdCluster.start(1)) {
            pid = cluster.pid(0);
            cluster.pause(0);
        }
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "paused etcd survived close");
    }

    /** Election takes about one election timeout (1 s by default); polling is fine in a test. */
    private static int awaitLeader(IntSupplier leaderIndex, int notThis) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            int leader = leaderIndex.getAsInt();
            if (leader >= 0 && leader != notThis) {
                return leader;
            }
            Thread.sleep(100);
        }
        return fail("no new leader within 15 s");
    }

    private static String health(LocalEtcdCluster cluster, int member) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(cluster.clientEndpoint(member) + "/health"))
                .timeout(Duration.ofSeconds(1))
                .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }
}
