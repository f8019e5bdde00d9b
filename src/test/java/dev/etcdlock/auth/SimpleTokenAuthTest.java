package dev.etcdlock.auth;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.internal.cli.CliRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A role-limited user with a password, on simple tokens that expire after 2 s of disuse. */
class SimpleTokenAuthTest extends RoleLimitedUserContract {
    @Override
    EtcdTestCluster startEtcd() {
        return EtcdTestCluster.single(List.of("--auth-token", "simple", "--auth-token-ttl", "2"));
    }

    @Override
    List<String> aliceCli() {
        return List.of("--endpoints", String.join(",", etcd.clientEndpoints()), "--user", "alice:alicepw");
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Override
    boolean tokensExpire() {
        return true;
    }

    @Test
    void wrongCredentialsAndMissingOnesFailAtBuildSayingWhatToDo() {
        EtcdRequestException wrong = assertThrows(EtcdRequestException.class,
                () -> EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).credentials("alice", "nope").build());
        assertTrue(wrong.getMessage().contains("authentication failed")
                && wrong.getMessage().contains("check the user name and password"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains("nope"), "the password never appears in messages");
        EtcdRequestException anonymous = assertThrows(EtcdRequestException.class,
                () -> EtcdLockClient.connect(String.join(",", etcd.clientEndpoints())));
        assertTrue(anonymous.getMessage().contains("authentication enabled")
                && anonymous.getMessage().contains("credentials(user, password)"), anonymous.getMessage());
    }

    @Test
    void theCommandLineTakesEtcdctlsEnvironment(@TempDir Path dir) throws Exception {
        Path stderr = dir.resolve("stderr");
        Process p = CliRun.inItsOwnJvm(Map.of("ETCDCTL_ENDPOINTS", String.join(",", etcd.clientEndpoints()),
                "ETCDCTL_USER", "alice", "ETCDCTL_PASSWORD", "alicepw"), stderr,
                "lock", ALLOWED + "env", "--", "sh", "-c", "echo \"held $ETCD_LOCK_KEY\"");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "lock exits");
        assertEquals(0, p.exitValue(), () -> out + readQuietly(stderr));
        assertTrue(out.startsWith("held " + ALLOWED + "env/"), out);
        assertEquals(0, keysUnder(ALLOWED + "env/"));
    }

    @Test
    void theCommandLineTakesEtcdctlsUserFlagsAndSaysWhatIsMissing() {
        String endpoints = String.join(",", etcd.clientEndpoints());
        CliRun noPassword = CliRun.of("check", "--endpoints", endpoints, "--user", "alice");
        assertEquals(2, noPassword.code(), noPassword::toString);
        assertTrue(noPassword.err().contains("needs a password"), noPassword::toString);
        CliRun twice = CliRun.of("check", "--endpoints", endpoints, "--user", "alice:x", "--password", "y");
        assertEquals(2, twice.code(), twice::toString);
        CliRun wrong = CliRun.of("status", "/allowed/x", "--endpoints", endpoints, "--user=alice:nope");
        assertEquals(1, wrong.code(), wrong::toString);
        assertTrue(wrong.err().contains("authentication failed"), wrong::toString);
        CliRun none = CliRun.of("status", "/allowed/x", "--endpoints", endpoints);
        assertEquals(1, none.code(), none::toString);
        assertTrue(none.err().contains("authentication enabled"), none::toString);
    }
}
