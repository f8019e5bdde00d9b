package dev.etcdlock.auth;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.TestCertificates;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.transport.TlsFiles;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * A role-limited user who logs in with nothing but its client certificate: etcd with {@code --client-cert-auth}
 * and authentication takes the certificate's common name ("alice") as the user, and there is no token.
 */
class CertificateUserAuthTest extends RoleLimitedUserContract {
    private TestCertificates certs;

    @Override
    EtcdTestCluster startEtcd() {
        certs = TestCertificates.create();
        return EtcdTestCluster.singleTls(LocalEtcdCluster.Tls.mutual(certs.server.cert(), certs.server.key(),
                certs.ca), List.of());
    }

    @AfterAll
    void deleteCertificates() {
        if (certs != null) {
            certs.close();
        }
    }

    @Override
    List<String> etcdctlFlags() {
        return List.of("--cacert=" + certs.ca, "--cert=" + certs.client.cert(), "--key=" + certs.client.key());
    }

    @Override
    EtcdLockClient.Builder asAlice() {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).trustedCertificates(certs.ca)
                .clientCertificate(certs.client.cert(), certs.client.key());
    }

    @Override
    Engine.Settings aliceSettings() {
        return Engine.Settings.of(etcd.clientEndpoints())
                .withTls(new TlsFiles(certs.ca, certs.client.cert(), certs.client.key()));
    }

    @Override
    List<String> aliceCli() {
        return List.of("--endpoints", String.join(",", etcd.clientEndpoints()), "--cacert", certs.ca.toString(),
                "--cert", certs.client.cert().toString(), "--key", certs.client.key().toString());
    }

    @Override
    boolean tokensExpire() {
        return false;
    }
}
