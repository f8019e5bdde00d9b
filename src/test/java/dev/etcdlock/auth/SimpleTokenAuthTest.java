package dev.etcdlock.auth;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.transport.Credentials;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.internal.cli.CliRun;
import java.util.List;
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
    EtcdLockClient.Builder asAlice() {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).credentials("alice", "alicepw");
    }

    @Override
    Engine.Settings aliceSettings() {
        return Engine.Settings.of(etcd.clientEndpoints()).withCredentials(new Credentials("alice", "alicepw"));
    }

    @Override
    List<String> aliceCli() {
        return List.of("--endpoints", String.join(",", etcd.clientEndpoints()), "--user", "alice:alicepw");
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
