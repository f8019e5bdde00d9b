package dev.etcdlock.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.EtcdUnavailableException;
import io.grpc.Status;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class EtcdErrorsTest {

    private static Throwable etcd(Status.Code code, String message) {
        return new CompletionException(Status.fromCode(code).withDescription(message).asRuntimeException());
    }

    @Test
    void noLeaderWasNotExecutedSoEvenWritesRetry() {
        Throwable noLeader = etcd(Status.Code.UNAVAILABLE, "etcdserver: no leader");
        assertEquals(EtcdErrors.Kind.NOT_EXECUTED, EtcdErrors.kind(noLeader));
        assertTrue(EtcdErrors.retryable(noLeader, false));
    }

    @Test
    void timeoutsLeaveAWriteOutcomeUnknownAndAreNotRetried() {
        Throwable timeout = etcd(Status.Code.UNAVAILABLE,
                "etcdserver: request timed out, possibly due to previous leader failure");
        assertEquals(EtcdErrors.Kind.UNAVAILABLE, EtcdErrors.kind(timeout));
        assertFalse(EtcdErrors.retryable(timeout, false));
        assertTrue(EtcdErrors.retryable(timeout, true));
        EtcdUnavailableException e = assertInstanceOf(EtcdUnavailableException.class,
                EtcdErrors.toException(timeout, "etcd Txn", true));
        assertTrue(e.isOutcomeUnknown());
        assertTrue(e.getMessage().contains("may or may not have applied"), e.getMessage());
        assertFalse(EtcdErrors.retryable(etcd(Status.Code.DEADLINE_EXCEEDED, "deadline"), false));
    }

    @Test
    void sameCodeDifferentMessagesMeanDifferentThings() {
        assertEquals(EtcdErrors.Kind.COMPACTED, EtcdErrors.kind(etcd(Status.Code.OUT_OF_RANGE,
                "etcdserver: mvcc: required revision has been compacted")));
        assertEquals(EtcdErrors.Kind.FUTURE_REVISION, EtcdErrors.kind(etcd(Status.Code.OUT_OF_RANGE,
                "etcdserver: mvcc: required revision is a future revision")));
        assertEquals(EtcdErrors.Kind.REJECTED, EtcdErrors.kind(etcd(Status.Code.OUT_OF_RANGE,
                "etcdserver: too large lease TTL")));
    }

    @Test
    void refusalsBecomeRequestExceptionsWithEtcdsReason() {
        Throwable denied = etcd(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied");
        assertFalse(EtcdErrors.retryable(denied, true));
        RuntimeException e = EtcdErrors.toException(denied, "etcd Range", false);
        assertInstanceOf(EtcdRequestException.class, e);
        assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
    }

    @Test
    void etcd36sFailedPreconditionForNotCapableAndLearnersStillMeansNotExecuted() {
        for (Status.Code code : new Status.Code[] {Status.Code.UNAVAILABLE, Status.Code.FAILED_PRECONDITION}) {
            assertEquals(EtcdErrors.Kind.NOT_EXECUTED, EtcdErrors.kind(etcd(code, "etcdserver: not capable")), code
                    .toString());
            assertEquals(EtcdErrors.Kind.NOT_EXECUTED, EtcdErrors.kind(etcd(code,
                    "etcdserver: rpc not supported for learner")), code.toString());
        }
    }

    @Test
    void tooManyRequestsIsNotExecutedWhateverTheCode() {
        for (Status.Code code : new Status.Code[] {Status.Code.RESOURCE_EXHAUSTED, Status.Code.UNKNOWN}) {
            Throwable busy = etcd(code, "etcdserver: too many requests");
            assertEquals(EtcdErrors.Kind.NOT_EXECUTED, EtcdErrors.kind(busy), code.toString());
            assertTrue(EtcdErrors.retryable(busy, false), code.toString());
        }
    }

    @Test
    void aStaleJwtTokenIsRenewedLikeAnExpiredOne() {
        assertEquals(EtcdErrors.Kind.INVALID_AUTH_TOKEN, EtcdErrors.kind(etcd(Status.Code.UNAUTHENTICATED,
                "etcdserver: invalid auth token")));
        assertEquals(EtcdErrors.Kind.INVALID_AUTH_TOKEN, EtcdErrors.kind(etcd(Status.Code.INVALID_ARGUMENT,
                "etcdserver: revision of auth store is old")));
    }

    @Test
    void missingUserAndDeniedPermissionAreToldApartAndSayWhatToDo() {
        Throwable empty = etcd(Status.Code.INVALID_ARGUMENT, "etcdserver: user name is empty");
        assertEquals(EtcdErrors.Kind.USER_EMPTY, EtcdErrors.kind(empty));
        assertTrue(EtcdErrors.toException(empty, "etcd Range", false).getMessage()
                .contains("credentials(user, password)"));
        Throwable denied = etcd(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied");
        assertEquals(EtcdErrors.Kind.PERMISSION_DENIED, EtcdErrors.kind(denied));
        assertTrue(EtcdErrors.toException(denied, "etcd Txn", true).getMessage().contains("grant-permission"));
        assertEquals(EtcdErrors.Kind.PERMISSION_DENIED, EtcdErrors.kind(new EtcdRequestException("ours",
                denied.getCause())), "judged by etcd's error inside ours");
    }
}
