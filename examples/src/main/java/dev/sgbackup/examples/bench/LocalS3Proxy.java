package dev.sgbackup.examples.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A local S3 server for the S3 benchmark and the CLI's end-to-end test: S3Proxy (filesystem-nio2 backend,
 * SigV4 checked) started from its self-contained jar as a child JVM on a free loopback port.
 */
public final class LocalS3Proxy implements AutoCloseable {
    public static final String ACCESS_KEY = "local-access-key";
    public static final String SECRET_KEY = "local-secret-key";

    private final Process process;
    private final String endpoint;
    private final Path data;

    private LocalS3Proxy(Process process, String endpoint, Path data) {
        this.process = process;
        this.endpoint = endpoint;
        this.data = data;
    }

    /** Starts S3Proxy from {@code jar}, storing objects under {@code dir}. */
    public static LocalS3Proxy start(Path jar, Path dir) throws IOException, InterruptedException {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("S3Proxy jar not found at " + jar
                    + "; build with Maven first (it copies org.gaul:s3proxy into target/s3proxy)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path data = Files.createDirectories(dir.resolve("data"));
        Path props = dir.resolve("s3proxy.properties");
        String endpoint = "http://127.0.0.1:" + port;
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=" + endpoint,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem-nio2",
                "jclouds.filesystem.basedir=" + data, ""), StandardCharsets.UTF_8);
        Path log = dir.resolve("s3proxy.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-Xmx512m", "-DLOG_LEVEL=warn", "-jar", jar.toString(),
                "--properties", props.toString())).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException("S3Proxy exited: " + Files.readString(log, StandardCharsets.UTF_8));
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return new LocalS3Proxy(p, endpoint, data);
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        p.destroy();
        throw new IOException("S3Proxy did not start within 60 s; see " + log);
    }

    public String endpoint() {
        return endpoint;
    }

    /** Creates a bucket (with the filesystem backend a bucket is a directory). */
    public void createBucket(String name) throws IOException {
        Files.createDirectories(data.resolve(name));
    }

    public long pid() {
        return process.pid();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }
}
