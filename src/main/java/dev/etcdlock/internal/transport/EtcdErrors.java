package dev.etcdlock.internal.transport;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.EtcdUnavailableException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one place that reads etcd's errors. etcd reuses gRPC status codes for unrelated conditions (Unavailable means
 * "no leader", "request timed out" and "connection refused"), so, like etcd's own {@code rpctypes} table, the exact
 * message decides: whether a request may be retried, and which exception the user sees.
 */
public final class EtcdErrors {

    /** What a failure means for the request that met it. */
    public enum Kind {
        /** etcd refused before executing (no leader, not capable, too many requests): safe to retry anywhere. */
        NOT_EXECUTED,
        /** Transport failure, timeout or leader change: a read may be retried, a write may have been applied. */
        UNAVAILABLE,
        /** The revision asked for was compacted away. */
        COMPACTED,
        /** The revision asked for is not yet applied on this member (it will be soon). */
        FUTURE_REVISION,
        /** The lease does not exist (expired or revoked). */
        LEASE_NOT_FOUND,
        /** The auth token expired, is unknown, or predates a user or role change: authenticate again and retry. */
        INVALID_AUTH_TOKEN,
        /** etcd has authentication enabled and the request carried no user (no token, no certificate CN). */
        USER_EMPTY,
        /** The user's roles do not grant this request; etcd checked it after passing consensus. */
        PERMISSION_DENIED,
        /** etcd refused the request itself; retrying will not help. */
        REJECTED,
        /** Cancelled by our side. */
        CANCELLED
    }

    // status code name + exact message -> kind; from etcd's etcdserver/api/v3rpc/rpctypes/error.go (3.4 to 3.6).
    // 3.6 moved "not capable" and "rpc not supported for learner" from UNAVAILABLE to FAILED_PRECONDITION: both mean
    // that this member did not execute the request, on every version.
    private static final Map<String, Kind> BY_MESSAGE = Map.ofEntries(
            Map.entry("UNAVAILABLE/etcdserver: no leader", Kind.NOT_EXECUTED),
            Map.entry("UNAVAILABLE/etcdserver: not capable", Kind.NOT_EXECUTED),
            Map.entry("FAILED_PRECONDITION/etcdserver: not capable", Kind.NOT_EXECUTED),
            Map.entry("UNAVAILABLE/etcdserver: rpc not supported for learner", Kind.NOT_EXECUTED),
            Map.entry("FAILED_PRECONDITION/etcdserver: rpc not supported for learner", Kind.NOT_EXECUTED),
            Map.entry("RESOURCE_EXHAUSTED/etcdserver: too many requests", Kind.NOT_EXECUTED),
            // LeaseGrant on 3.5.30 returned it with code Unknown: the message, not the code, says etcd refused before
            // proposing (its applied index lagged the committed one by more than 5000)
            Map.entry("UNKNOWN/etcdserver: too many requests", Kind.NOT_EXECUTED),
            Map.entry("UNAVAILABLE/etcdserver: leader changed", Kind.UNAVAILABLE),
            Map.entry("UNAVAILABLE/etcdserver: server stopped", Kind.UNAVAILABLE),
            Map.entry("UNAVAILABLE/etcdserver: request timed out", Kind.UNAVAILABLE),
            Map.entry("UNAVAILABLE/etcdserver: unhealthy cluster", Kind.UNAVAILABLE),
            Map.entry("OUT_OF_RANGE/etcdserver: mvcc: required revision has been compacted", Kind.COMPACTED),
            Map.entry("OUT_OF_RANGE/etcdserver: mvcc: required revision is a future revision", Kind.FUTURE_REVISION),
            Map.entry("NOT_FOUND/etcdserver: requested lease not found", Kind.LEASE_NOT_FOUND),
            Map.entry("UNAUTHENTICATED/etcdserver: invalid auth token", Kind.INVALID_AUTH_TOKEN),
            // a JWT token names the auth revision it was issued at; any user or role change since makes it stale
            Map.entry("INVALID_ARGUMENT/etcdserver: revision of auth store is old", Kind.INVALID_AUTH_TOKEN),
            Map.entry("INVALID_ARGUMENT/etcdserver: user name is empty", Kind.USER_EMPTY),
            Map.entry("PERMISSION_DENIED/etcdserver: permission denied", Kind.PERMISSION_DENIED));

    private EtcdErrors() {
    }

    public static Kind kind(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof EtcdLockException && t.getCause() != null) {
            t = unwrap(t.getCause()); // one of ours, made from an etcd error: judge by the original
        }
        if (t instanceof CancellationException) {
            return Kind.CANCELLED;
        }
        Status status = statusOf(t);
        if (status == null) {
            return Kind.REJECTED;
        }
        String description = status.getDescription() == null ? "" : status.getDescription();
        Kind known = BY_MESSAGE.get(status.getCode() + "/" + description);
        if (known != null) {
            return known;
        }
        if (status.getCode() == Status.Code.UNAVAILABLE && description.startsWith("etcdserver: request timed out")) {
            return Kind.UNAVAILABLE; // the "..., possibly due to ..." variants
        }
        return switch (status.getCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, UNKNOWN, INTERNAL -> Kind.UNAVAILABLE;
            case CANCELLED -> Kind.CANCELLED;
            default -> Kind.REJECTED;
        };
    }

    /** True when sending the same request again cannot apply it twice, given the request is {@code idempotent}. */
    public static boolean retryable(Throwable failure, boolean idempotent) {
        Kind kind = kind(failure);
        return kind == Kind.NOT_EXECUTED || kind == Kind.FUTURE_REVISION
                || (idempotent && kind == Kind.UNAVAILABLE);
    }

    /**
     * The exception a user sees for {@code failure} met while doing {@code what} (a phrase like "Txn on
     * /locks/a"). Our own exceptions pass through unchanged.
     */
    public static RuntimeException toException(Throwable failure, String what, boolean write) {
        Throwable t = unwrap(failure);
        if (t instanceof EtcdLockException e) {
            return e;
        }
        Status status = statusOf(t);
        String reason = status == null ? String.valueOf(t) : describe(status);
        return switch (kind(t)) {
            case NOT_EXECUTED -> new EtcdUnavailableException(
                    what + " failed: " + reason + "; etcd did not execute it, check the cluster's health", false, t);
            case UNAVAILABLE -> new EtcdUnavailableException(what + " failed: " + reason
                    + (write ? "; etcd may or may not have applied it" : "") + "; check that etcd is running and "
                    + "reachable and has a leader", write, t);
            case CANCELLED -> new EtcdLockException(what + " was cancelled", t);
            default -> new EtcdRequestException(what + " was refused by etcd: " + reason + hint(reason), t);
        };
    }

    /** What to do about the refusals a user can fix. */
    private static String hint(String reason) {
        if (reason.contains("user name is empty")) {
            return "; etcd has authentication enabled: give the client credentials(user, password), or a client "
                    + "certificate whose common name is an etcd user";
        }
        if (reason.contains("authentication failed")) {
            return "; check the user name and password";
        }
        if (reason.contains("permission denied")) {
            return "; the user's roles do not grant access to these keys (etcdctl role grant-permission)";
        }
        return "";
    }

    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    public static Status statusOf(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            return s.getStatus();
        }
        if (t instanceof StatusException s) {
            return s.getStatus();
        }
        return null;
    }

    private static String describe(Status status) {
        String d = status.getDescription();
        Throwable cause = status.getCause();
        if (d == null && cause != null) {
            d = cause.getMessage();
        }
        return status.getCode() + (d == null ? "" : " (" + d + ")");
    }

    static ClientClosedException closed(String what) {
        return new ClientClosedException(what + ": the etcd-lock client is closed; create a new one");
    }
}
