package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** etcdctl's global flags and ETCDCTL_* variables, as the commands read them; a flag wins over its variable. */
class ConnectionTest {
    private static Connection parse(Map<String, String> env, String... args) {
        Connection.Flags flags = new Connection.Flags();
        for (int i = 0; i < args.length; i++) {
            int taken = flags.take(args, i);
            assertTrue(taken > 0, args[i] + " is a connection flag");
            i += taken - 1;
        }
        return flags.build(env, () -> null);
    }

    @Test
    void takesEtcdctlsVariables() {
        Connection c = parse(Map.of("ETCDCTL_ENDPOINTS", "10.0.0.1:2379,10.0.0.2:2379", "ETCDCTL_USER", "alice",
                "ETCDCTL_PASSWORD", "pw", "ETCDCTL_CACERT", "/ca.pem", "ETCDCTL_CERT", "/c.pem", "ETCDCTL_KEY",
                "/c.key", "ETCDCTL_DIAL_TIMEOUT", "3s", "ETCDCTL_COMMAND_TIMEOUT", "7s", "ETCD_ENDPOINTS", "ignored"));
        assertEquals(List.of("https://10.0.0.1:2379,https://10.0.0.2:2379"), c.endpoints(), "TLS makes them https");
        assertEquals("alice", c.credentials().user());
        assertEquals("pw", c.credentials().password());
        assertEquals(Path.of("/ca.pem"), c.tls().files().trustedCertificates());
        assertEquals(Path.of("/c.key"), c.tls().files().clientKey());
        assertEquals(Duration.ofSeconds(3), c.dialTimeout());
        assertEquals(Duration.ofSeconds(7), c.commandTimeout());
    }

    @Test
    void flagsWinOverVariables() {
        Map<String, String> env = Map.of("ETCDCTL_ENDPOINTS", "http://env:2379", "ETCDCTL_USER", "env:envpw",
                "ETCDCTL_CACERT", "/env-ca.pem", "ETCDCTL_DIAL_TIMEOUT", "9s");
        Connection c = parse(env, "--endpoints", "http://flag:2379", "--user=bob:bobpw", "--cacert", "/flag-ca.pem",
                "--dial-timeout=1s", "--command-timeout", "500ms");
        assertEquals(List.of("http://flag:2379"), c.endpoints());
        assertEquals("bob", c.credentials().user());
        assertEquals("bobpw", c.credentials().password());
        assertEquals(Path.of("/flag-ca.pem"), c.tls().files().trustedCertificates());
        assertEquals(Duration.ofSeconds(1), c.dialTimeout());
        assertEquals(Duration.ofMillis(500), c.commandTimeout());
        Connection userFlagPasswordEnv = parse(Map.of("ETCDCTL_PASSWORD", "envpw"), "--user", "carol");
        assertEquals("envpw", userFlagPasswordEnv.credentials().password(), "as etcdctl: the variable fills in");
    }

    @Test
    void ourOwnEtcdEndpointsComesAfterEtcdctls() {
        assertEquals(List.of("http://ours:2379"), parse(Map.of("ETCD_ENDPOINTS", "http://ours:2379")).endpoints());
        assertEquals(List.of(), parse(Map.of()).endpoints());
        assertNull(parse(Map.of()).credentials());
    }

    @Test
    void aUserNeedsAPasswordGivenOnce() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> parse(Map.of(), "--user", "alice"));
        assertTrue(none.getMessage().contains("needs a password"), none.getMessage());
        assertEquals("typed", new Connection.Flags() {
            {
                take(new String[] {"--user", "alice"}, 0);
            }
        }.build(Map.of(), () -> "typed").credentials().password(), "asked at the prompt");
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "--user", "a:x", "--password", "y"));
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "--password", "y"));
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "--user", ":pw"));
        assertEquals("p:w", parse(Map.of(), "--user", "a:p:w").credentials().password(), "split at the first colon");
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "--dial-timeout", "0s"));
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "--cert", "/c.pem"), "cert needs key");
    }
}
