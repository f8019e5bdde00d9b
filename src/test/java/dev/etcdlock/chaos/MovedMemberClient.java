package dev.etcdlock.chaos;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The client side of {@link MemberThatMovesIsFoundUnderItsNameTest}, in a JVM of its own because that JVM's host
 * names come from a hosts file the test rewrites ({@code -Djdk.net.hosts.file}, no caching). Locks once, waits for
 * "moved" on stdin, locks again, and says how each went on stdout.
 *
 * <p>Arguments: {@code endpoint lockName}.
 */
public final class MovedMemberClient {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (EtcdLockClient client = EtcdLockClient.builder().endpoints(args[0])
                .connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(3)).build();
                Session session = client.newSession(Duration.ofSeconds(30))) {
            long token;
            try (LockHandle lock = session.mutex(args[1]).lock(Duration.ofSeconds(10))) {
                token = lock.fencingToken();
            }
            System.out.println("first ok " + token); // unlocked: the test may move the member now
            if (!"moved".equals(in.readLine())) {
                System.out.println("no move");
                return;
            }
            long start = System.nanoTime();
            long deadline = start + Duration.ofSeconds(20).toNanos();
            EtcdLockException last = null;
            while (System.nanoTime() < deadline) {
                // each attempt is bounded by the request timeout; a client that never finds the member fails all
                try (LockHandle lock = session.mutex(args[1]).lock(Duration.ofSeconds(3))) {
                    System.out.println("second ok " + lock.fencingToken() + " after "
                            + (System.nanoTime() - start) / 1_000_000 + " ms");
                    return;
                } catch (EtcdLockException e) {
                    last = e;
                }
            }
            System.out.println("second failed: " + last);
        }
    }
}
