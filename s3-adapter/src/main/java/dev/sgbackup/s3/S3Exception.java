package dev.sgbackup.s3;

import dev.sgbackup.run.SinkException;

/**
 * An S3 request failed. The message names the operation, the object, S3's error code and message, and
 * what to do; {@link #code()} and {@link #httpStatus()} are there for programs. Never contains secrets.
 */
public class S3Exception extends SinkException {
    private final String code;
    private final int httpStatus;
    private final String requestId;

    S3Exception(String message, String code, int httpStatus, String requestId, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.httpStatus = httpStatus;
        this.requestId = requestId;
    }

    /** S3's error code (e.g. {@code AccessDenied}, {@code NoSuchBucket}), or null for a transport failure. */
    public String code() {
        return code;
    }

    /** The HTTP status, or 0 when no response was received. */
    public int httpStatus() {
        return httpStatus;
    }

    /** S3's request id, for AWS support, or null. */
    public String requestId() {
        return requestId;
    }
}
