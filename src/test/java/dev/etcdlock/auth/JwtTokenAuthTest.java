package dev.etcdlock.auth;

import dev.etcdlock.EtcdTestCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * A role-limited user with a password, on JWT tokens signed by etcd with an RSA key and valid for 2 s; the
 * password comes from {@code --password} on the command line.
 */
class JwtTokenAuthTest extends RoleLimitedUserContract {
    private Path keys;

    /** How long etcd's JWT tokens are valid: {@code ttl} of {@code --auth-token jwt,...}. */
    String tokenTtl() {
        return "2s";
    }

    @Override
    EtcdTestCluster startEtcd() throws IOException, java.security.GeneralSecurityException {
        keys = Files.createTempDirectory("etcd-lock-jwt-");
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        Path priv = pem(keys.resolve("jwt.key"), "PRIVATE KEY", pair.getPrivate().getEncoded());
        Path pub = pem(keys.resolve("jwt.pub"), "PUBLIC KEY", pair.getPublic().getEncoded());
        return EtcdTestCluster.single(List.of("--auth-token",
                "jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=RS256,ttl=" + tokenTtl()));
    }

    @AfterAll
    void deleteKeys() throws IOException {
        if (keys != null) {
            try (var files = Files.list(keys)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(keys);
        }
    }

    private static Path pem(Path file, String label, byte[] der) throws IOException {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return Files.writeString(file, "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n");
    }

    @Override
    List<String> aliceCli() {
        return List.of("--endpoints", String.join(",", etcd.clientEndpoints()), "--user", "alice", "--password",
                "alicepw");
    }

    @Override
    boolean tokensExpire() {
        return true;
    }
}
