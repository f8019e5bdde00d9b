package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.SharedEtcd;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member that moves to a new address under the same name (a rescheduled Kubernetes pod) is found again: the client
 * looks its name up anew when a connection to the old address fails. The member is etcd behind a proxy on 127.0.0.2;
 * the move is a second proxy on 127.0.0.3 at the same port, the hosts file rewritten, and the first proxy gone.
 * Before, names were resolved once at {@code build()} and the client knocked on the old address for ever.
 */
class MemberThatMovesIsFoundUnderItsNameTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    private static final String NAME = "etcd-member-that-moves.test";

    @Test
    void aMovedMemberIsReachedAtItsNewAddress(@TempDir Path dir) throws Exception {
        URI target = URI.create(etcd.clientEndpoints().get(0));
        String lock = "/moves/lock";
        TcpProxy before = TcpProxy.startAt(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), target);
        TcpProxy after = null;
        Process client = null;
        try {
            int port = before.port();
            after = TcpProxy.startAt(new InetSocketAddress(InetAddress.getByName("127.0.0.3"), port), target);
            Path hosts = dir.resolve("hosts");
            writeHosts(hosts, "127.0.0.2");
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-Djdk.net.hosts.file=" + hosts, "-Dsun.net.inetaddr.ttl=0",
                    "-Dsun.net.inetaddr.negative.ttl=0", "-cp", System.getProperty("java.class.path"),
                    MovedMemberClient.class.getName(), "http://" + NAME + ":" + port, lock));
            client = new ProcessBuilder(command).redirectError(dir.resolve("client.err").toFile()).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(client.getInputStream(),
                    StandardCharsets.UTF_8));
            String first = out.readLine();
            assertTrue(first != null && first.startsWith("first ok"), () -> "first lock: " + first + "\n"
                    + stderr(dir));
            assertEquals(0, after.connectionsAccepted(), "nothing went to the new address yet");

            writeHosts(hosts, "127.0.0.3"); // the member moves: new address, same name
            before.close();
            Writer in = new OutputStreamWriter(client.getOutputStream(), StandardCharsets.UTF_8);
            in.write("moved\n");
            in.flush();

            String second = out.readLine();
            assertTrue(second != null && second.startsWith("second ok"), () -> "after the move: " + second + "\n"
                    + stderr(dir));
            System.out.println("moved member: " + second);
            assertTrue(after.connectionsAccepted() > 0, "the client reached the member at its new address");
            assertTrue(client.waitFor(20, TimeUnit.SECONDS), "the client ended");
            assertEquals(0, client.exitValue());
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), lock + "/"), "its session closed cleanly");
        } finally {
            if (client != null) {
                client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            before.close();
            if (after != null) {
                after.close();
            }
        }
    }

    /** The child JVM's only source of names: this one, and localhost. */
    private static void writeHosts(Path hosts, String address) throws Exception {
        Path partial = hosts.resolveSibling("hosts.part");
        Files.writeString(partial, "127.0.0.1 localhost\n" + address + " " + NAME + "\n");
        Files.move(partial, hosts, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String stderr(Path dir) {
        try {
            return Files.readString(dir.resolve("client.err"));
        } catch (Exception e) {
            return e.toString();
        }
    }
}
