package dev.etcdlock.internal.transport;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.List;
import java.util.Locale;

/**
 * Plaintext or TLS for the channel, and what a failed connection says about the certificates. The failures come
 * from the JDK's trust manager (gRPC verifies the server with it) and from OpenSSL/BoringSSL (the handshake), and
 * reach us as an UNAVAILABLE status whose cause chain holds the real reason; the hints below are read from those
 * chains as etcd 3.4 and grpc-netty-shaded produce them.
 */
public final class TransportSecurity {

    /** What a connect failure means, and whether trying again can help. */
    public record Diagnosis(String hint, boolean permanent) {
    }

    private TransportSecurity() {
    }

    /**
     * Plaintext for http://, TLS for https:// (never a silent downgrade), with the given files if any.
     *
     * @throws IllegalArgumentException when TLS files are given for http:// endpoints, or a file is bad
     */
    public static ChannelCredentials channelCredentials(List<Endpoint> endpoints, TlsFiles tls) {
        boolean https = endpoints.get(0).tls();
        if (!https && tls != null) {
            throw new IllegalArgumentException("TLS files are set (" + what(tls) + ") but the etcd endpoints "
                    + endpoints + " are plain http (a bare host:port means http://): use https:// endpoints, "
                    + "like https://" + endpoints.get(0).authority());
        }
        if (!https) {
            return InsecureChannelCredentials.create();
        }
        return tls == null ? TlsChannelCredentials.create() : tls.channelCredentials();
    }

    private static String what(TlsFiles tls) {
        return tls.trustedCertificates() != null && tls.hasClientCertificate() ? "a CA and a client certificate"
                : tls.hasClientCertificate() ? "a client certificate" : "a CA file";
    }

    /**
     * What to do about a connection that failed with {@code status}; null when nothing points at TLS or at the
     * scheme. Permanent diagnoses (a certificate refused by either side) end the connect attempt at once: retrying
     * the same handshake until the timeout would only delay the same answer.
     */
    public static Diagnosis diagnose(Status status, List<Endpoint> endpoints, TlsFiles tls) {
        boolean https = endpoints.get(0).tls();
        String text = text(status);
        String lower = text.toLowerCase(Locale.ROOT);
        if (has(status, CertificateExpiredException.class) || has(status, CertificateNotYetValidException.class)) {
            return new Diagnosis("etcd's server certificate has expired or is not valid yet: renew etcd's "
                    + "--cert-file (or check the clocks)", true);
        }
        if (has(status, CertPathBuilderException.class) || text.contains("PKIX path building failed")) {
            return new Diagnosis(tls != null && tls.trustedCertificates() != null
                    ? "etcd's server certificate is not signed by the CA in " + tls.trustedCertificates()
                            + ": give trustedCertificates(...) (--cacert on the command line) the CA certificate "
                            + "that signed etcd's --cert-file"
                    : "etcd's server certificate is not signed by a CA this JVM trusts: give the CA certificate "
                            + "that signed etcd's --cert-file with trustedCertificates(caPemFile) (--cacert on the "
                            + "command line)", true);
        }
        if (text.contains("No subject alternative names") || text.contains("No name matching")) {
            return new Diagnosis("etcd's server certificate is not issued for the host name or IP address of the "
                    + "endpoint: use an endpoint host that is among the certificate's subject alternative names, "
                    + "or reissue the certificate with the host in them (subjectAltName IP:... or DNS:...)", true);
        }
        if (text.contains("KEY_VALUES_MISMATCH")) {
            return new Diagnosis("the client certificate and its private key do not belong together", true);
        }
        if (lower.contains("bad_certificate") || lower.contains("certificate_required")
                || lower.contains("unknown_ca") || lower.contains("certificate_unknown")
                || lower.contains("certificate_expired")) {
            return new Diagnosis(tls != null && tls.hasClientCertificate()
                    ? "etcd refused the client certificate " + tls.clientCertificate() + ": it must be signed by a "
                            + "CA in etcd's --trusted-ca-file, be valid now and allow client authentication "
                            + "(extendedKeyUsage clientAuth)"
                    : "etcd requires a client certificate (it runs with --client-cert-auth): give one with "
                            + "clientCertificate(certPemFile, privateKeyPemFile) (--cert and --key on the command "
                            + "line)", true);
        }
        // gRPC's ClientTlsHandler leaves the pipeline once the handshake is done: still there, the handshake was on
        boolean inHandshake = text.contains("ClientTlsHandler") || text.contains("while performing TLS negotiation");
        boolean dropped = text.contains("Connection closed") || lower.contains("connection reset");
        if (https && ((inHandshake && dropped) || lower.contains("not an ssl/tls record")
                || lower.contains("unrecognized ssl message") || lower.contains("wrong_version_number"))) {
            return new Diagnosis("the member dropped the connection during the TLS handshake, as a member serving "
                    + "plain http does: use http:// endpoints, or let etcd serve TLS (--cert-file, --key-file and "
                    + "https:// --listen-client-urls)", false);
        }
        // etcd's TLS listener hangs up on gRPC's plaintext preface; a close or a reset, depending on timing
        if (!https && (text.contains("Network closed for unknown reason") || lower.contains("connection reset"))) {
            return new Diagnosis("the member dropped the connection at once, as a member serving TLS does with "
                    + "plain http: if etcd's --listen-client-urls are https://, use https:// endpoints", false);
        }
        if (text.contains("SSL") || text.contains("TLS") || text.contains("Ssl")) {
            return new Diagnosis("the TLS handshake failed: check http:// versus https:// and the certificates",
                    false);
        }
        return null;
    }

    private static boolean has(Status status, Class<? extends Throwable> type) {
        for (Throwable c = status.getCause(); c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    /** The description and every message of the cause chain, where the handshake's reasons are. */
    private static String text(Status status) {
        StringBuilder b = new StringBuilder(String.valueOf(status.getDescription()));
        for (Throwable c = status.getCause(); c != null; c = c.getCause()) {
            b.append('\n').append(c.getClass().getName()).append(": ").append(c.getMessage());
        }
        return b.toString();
    }
}
