package dev.sgbackup.s3;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real S3 server for the tests: S3Proxy (filesystem-nio2 backend, SigV4 checked) in its own JVM, a child
 * process of the test JVM with its own classpath (target/s3proxy/s3proxy.jar), on a free loopback port.
 * Started once per test JVM; stopped when the JVM exits.
 */
final class S3ProxyServer {
    static final String ACCESS_KEY = "sgbackup-test-key";
    static final String SECRET_KEY = "sgbackup-test-secret/+=";
    private static S3ProxyServer instance;
    private static final AtomicInteger BUCKETS = new AtomicInteger();

    final String endpoint;
    final Path dataDir;
    private final Process process;

    private S3ProxyServer(String endpoint, Path dataDir, Process process) {
        this.endpoint = endpoint;
        this.dataDir = dataDir;
        this.process = process;
    }

    static synchronized S3ProxyServer get() throws IOException, InterruptedException {
        if (instance == null) {
            instance = start();
        }
        return instance;
    }

    private static S3ProxyServer start() throws IOException, InterruptedException {
        String jar = System.getProperty("s3proxy.jar", "target/s3proxy/s3proxy.jar");
        if (!Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("S3Proxy jar not found at " + jar
                    + "; run the tests through Maven (the build copies it into target/s3proxy)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("sgbackup-s3proxy-");
        Path data = Files.createDirectories(dir.resolve("data"));
        Path props = dir.resolve("s3proxy.properties");
        String endpoint = "http://127.0.0.1:" + port;
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=" + endpoint,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem-nio2",
                "jclouds.filesystem.basedir=" + data,
                "") , StandardCharsets.UTF_8);
        Path log = dir.resolve("s3proxy.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-DLOG_LEVEL=warn", "-jar", jar, "--properties", props.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            p.destroy();
            try {
                p.waitFor();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            deleteTree(dir);
        }));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("S3Proxy exited with " + p.exitValue() + ": "
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return new S3ProxyServer(endpoint, data, p);
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        p.destroy();
        throw new IllegalStateException("S3Proxy did not listen on " + endpoint + " within 60 s: "
                + Files.readString(log, StandardCharsets.UTF_8));
    }

    static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // best effort at exit
                }
            });
        } catch (IOException ignored) {
            // best effort at exit
        }
    }

    S3Sink.Builder sinkBuilder(String bucket) {
        return S3Sink.builder(bucket).endpoint(endpoint).region("us-east-1")
                .credentials(S3Credentials.of(ACCESS_KEY, SECRET_KEY)).env(java.util.Map.of());
    }

    /** A new empty bucket with a unique name. */
    String newBucket() throws IOException {
        String name = "sgb-" + ProcessHandle.current().pid() + "-" + BUCKETS.incrementAndGet();
        try (S3Sink s = sinkBuilder(name).build()) {
            s.client.execute(new S3Client.Req("CreateBucket", "PUT", null));
        }
        return name;
    }
}
