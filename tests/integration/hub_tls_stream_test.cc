// The hub's own TLS stream (server/internal/tls_stream.h) against asio's TLS client on
// loopback: bytes arrive intact in both directions in large amounts (partial writes, records
// split across reads); records that arrive a byte at a time, and padded ones, read whole;
// each TLS 1.3 cipher suite carries records; key updates either way keep
// the conversation going; a TLS 1.2 connection is left to OpenSSL; forged and oversized
// records are refused with their reason; a read and a write in flight at once; a deadline ends
// a silent handshake with `timeout`; close_notify reads as eof and a cut connection as
// truncated; a peer gone mid-write is an error and not SIGPIPE; and Beast's WebSocket runs on
// it, closing handshake included.
#include "server/internal/tls_stream.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "server/tls_identity.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using server::internal::TlsStream;
using tcp = boost::asio::ip::tcp;

std::string Pattern(size_t size) {
  std::string text(size, '\0');
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return text;
}

// A TCP relay for one connection that hands the server what the client sends one byte at a
// time, so every record arrives in pieces: a header split, a body split. The other way it
// copies as it comes.
class Dribble {
 public:
  explicit Dribble(tcp::endpoint server) : server_(server) {
    front_.open(tcp::v4());
    front_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    front_.listen();
    thread_ = std::thread([this] { Run(); });
  }
  ~Dribble() {
    // Wakes the accept or the copies, whoever of the two ends is still open.
    beast::error_code ignored;
    front_.close(ignored);
    client_.shutdown(tcp::socket::shutdown_both, ignored);
    server_socket_.shutdown(tcp::socket::shutdown_both, ignored);
    thread_.join();
  }
  tcp::endpoint endpoint() const { return front_.local_endpoint(); }

 private:
  void Run() {
    beast::error_code ec;
    front_.accept(client_, ec);
    if (ec) return;
    server_socket_.connect(server_, ec);
    if (ec) return;
    server_socket_.set_option(tcp::no_delay(true), ec);
    std::thread back([this] { Copy(server_socket_, client_, 65536); });
    Copy(client_, server_socket_, 1);
    back.join();
  }

  static void Copy(tcp::socket& from, tcp::socket& to, size_t step) {
    char buffer[65536];
    beast::error_code ec;
    for (;;) {
      const size_t n = from.read_some(net::buffer(buffer, sizeof(buffer)), ec);
      if (ec) break;
      for (size_t at = 0; at < n && !ec; at += step) {
        net::write(to, net::buffer(buffer + at, std::min(step, n - at)), ec);
        if (step == 1) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      if (ec) break;
    }
    to.shutdown(tcp::socket::shutdown_send, ec);
  }

  net::io_context io_;
  tcp::acceptor front_{io_};
  const tcp::endpoint server_;
  tcp::socket client_{io_}, server_socket_{io_};
  std::thread thread_;
};

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A write to a closed peer must come back as an error: SIGPIPE would end this process.
    ::signal(SIGPIPE, SIG_DFL);
    auto identity = server::LoadOrCreateSelfSigned(dir_.path(), "tls-stream-test");
    ASSERT_TRUE(identity.ok()) << identity.status().message();
    server_ctx_.use_certificate_chain_file(identity->cert_file);
    server_ctx_.use_private_key_file(identity->key_file, ssl::context::pem);
    server::internal::TlsRecords::PrepareContext(server_ctx_.native_handle());
    client_ctx_.set_verify_mode(ssl::verify_none);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // The server side of the next connection, on its own strand like the hub's.
  std::future<TlsStream*> Accept() {
    auto accepted = std::make_shared<std::promise<TlsStream*>>();
    std::future<TlsStream*> future = accepted->get_future();
    acceptor_.async_accept(net::make_strand(io_),
                           [this, accepted](beast::error_code ec, tcp::socket socket) {
                             ASSERT_FALSE(ec) << ec.message();
                             server_.emplace(std::move(socket), server_ctx_.native_handle());
                             accepted->set_value(&*server_);
                           });
    return future;
  }

  // A TLS client connected over TCP, before its handshake.
  // To `via` when given (a relay in front of the server), else to the server.
  std::unique_ptr<ssl::stream<tcp::socket>> Connect(std::optional<tcp::endpoint> via = {}) {
    auto client = std::make_unique<ssl::stream<tcp::socket>>(client_io_, client_ctx_);
    client->next_layer().connect(via.value_or(acceptor_.local_endpoint()));
    return client;
  }

  // Runs `op(stream, done)` on the server stream's strand and waits for `done(ec)`.
  template <typename Op>
  beast::error_code RunOnServer(Op op) {
    std::promise<beast::error_code> result;
    net::post(server_->get_executor(), [&] {
      op(*server_, [&result](beast::error_code ec) { result.set_value(ec); });
    });
    auto future = result.get_future();
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "server operation did not complete";
      return net::error::timed_out;
    }
    return future.get();
  }

  // A connection through both handshakes: the client, and the server's side in server_.
  // Null when a handshake failed.
  std::unique_ptr<ssl::stream<tcp::socket>> Handshaken(std::optional<tcp::endpoint> via = {}) {
    auto accepted = Accept();
    auto client = Connect(via);
    beast::error_code client_ec;
    std::thread handshake([&] { client->handshake(ssl::stream_base::client, client_ec); });
    accepted.wait();
    beast::error_code server_ec = RunOnServer([](TlsStream& s, auto done) {
      s.async_handshake([done](beast::error_code ec) { done(ec); });
    });
    handshake.join();
    EXPECT_FALSE(server_ec) << server_ec.message();
    EXPECT_FALSE(client_ec) << client_ec.message();
    if (server_ec || client_ec) return nullptr;
    // A TLS 1.3 connection's records are TlsRecords' from here on; anything else stays OpenSSL's.
    const bool tls13 = SSL_version(client->native_handle()) == TLS1_3_VERSION;
    EXPECT_EQ(server_->released_openssl(), tls13);
    return client;
  }

  // Reads exactly `size` bytes on the server side; the error, if any, in `ec`.
  std::string ServerRead(size_t size, beast::error_code& ec) {
    std::string got(size, '\0');
    ec = RunOnServer([&](TlsStream& s, auto done) {
      net::async_read(s, net::buffer(got), [done](beast::error_code ec, size_t) { done(ec); });
    });
    return got;
  }

  // Reads exactly `size` bytes on the client side.
  static std::string ClientRead(ssl::stream<tcp::socket>& client, size_t size) {
    std::string got(size, '\0');
    net::read(client, net::buffer(got));
    return got;
  }

  beast::error_code ServerWrite(const std::string& text) {
    return RunOnServer([&](TlsStream& s, auto done) {
      net::async_write(s, net::buffer(text), [done](beast::error_code ec, size_t) { done(ec); });
    });
  }

  testing::TempDir dir_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  ssl::context server_ctx_{ssl::context::tls_server};
  ssl::context client_ctx_{ssl::context::tls_client};
  tcp::acceptor acceptor_{io_};
  std::optional<TlsStream> server_;
  net::io_context client_io_;
  std::thread thread_;
};

TEST_F(TlsStreamTest, LargeAmountsArriveIntactBothWays) {
  auto client = Handshaken();
  ASSERT_TRUE(client);

  const std::string sent = Pattern(3 << 20);  // far more than the sockets buffer
  std::string received(sent.size(), '\0');
  std::thread writer([&] { net::write(*client, net::buffer(sent)); });
  EXPECT_FALSE(RunOnServer([&](TlsStream& s, auto done) {
    net::async_read(s, net::buffer(received),
                    [done](beast::error_code ec, size_t) { done(ec); });
  }));
  writer.join();
  EXPECT_TRUE(received == sent);

  // And back: the server writes while the client reads slowly (the socket fills, the write
  // waits for room).
  std::string echoed(sent.size(), '\0');
  std::thread reader([&] {
    size_t at = 0;
    while (at < echoed.size()) {
      at += client->read_some(net::buffer(echoed.data() + at, std::min<size_t>(
                                                                 1000, echoed.size() - at)));
    }
  });
  EXPECT_FALSE(RunOnServer([&](TlsStream& s, auto done) {
    net::async_write(s, net::buffer(received),
                     [done](beast::error_code ec, size_t) { done(ec); });
  }));
  reader.join();
  EXPECT_TRUE(echoed == sent);
}

TEST_F(TlsStreamTest, RecordsArrivingAByteAtATimeAndPaddedRecordsReadWhole) {
  // The client pads every record to a multiple of 256 bytes (RFC 8446 5.4): the zeros after
  // the content type are not content.
  SSL_CTX_set_block_padding(client_ctx_.native_handle(), 256);
  Dribble relay(acceptor_.local_endpoint());
  auto client = Handshaken(relay.endpoint());
  ASSERT_TRUE(client);
  const std::string sent = Pattern(3000);
  std::thread writer([&] {
    for (size_t at = 0; at < sent.size(); at += 700) {  // five records, each padded
      net::write(*client, net::buffer(sent.data() + at, std::min<size_t>(700, sent.size() - at)));
    }
  });
  beast::error_code ec;
  EXPECT_TRUE(ServerRead(sent.size(), ec) == sent);
  writer.join();
  EXPECT_FALSE(ec) << ec.message();
  // And the answer comes back through the relay.
  ASSERT_FALSE(ServerWrite("done"));
  EXPECT_EQ(ClientRead(*client, 4), "done");
}

TEST_F(TlsStreamTest, KeyUpdatesEitherWayKeepTheConversationGoing) {
  auto client = Handshaken();
  ASSERT_TRUE(client);
  ASSERT_TRUE(server_->released_openssl());
  for (int round = 0; round < 3; ++round) {
    // The client moves to new keys and asks the server to do the same (RFC 8446 4.6.3): the
    // server reads under the client's next keys and sends its own KeyUpdate before its answer.
    ASSERT_EQ(SSL_key_update(client->native_handle(), round == 1 ? SSL_KEY_UPDATE_NOT_REQUESTED
                                                                 : SSL_KEY_UPDATE_REQUESTED),
              1);
    const std::string question = "question " + std::to_string(round);
    net::write(*client, net::buffer(question));
    beast::error_code ec;
    EXPECT_EQ(ServerRead(question.size(), ec), question);
    ASSERT_FALSE(ec) << ec.message();
    const std::string answer = Pattern(40000);  // several records under the new key
    ASSERT_FALSE(ServerWrite(answer));
    EXPECT_TRUE(ClientRead(*client, answer.size()) == answer) << "round " << round;
  }
}

TEST_F(TlsStreamTest, EachTls13CipherSuiteCarriesRecordsBothWays) {
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                            "TLS_CHACHA20_POLY1305_SHA256"}) {
    SCOPED_TRACE(suite);
    ASSERT_EQ(SSL_CTX_set_ciphersuites(client_ctx_.native_handle(), suite), 1);
    auto client = Handshaken();
    ASSERT_TRUE(client);
    EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(client->native_handle())), suite);
    const std::string sent = Pattern(70000);
    std::thread writer([&] { net::write(*client, net::buffer(sent)); });
    beast::error_code ec;
    EXPECT_TRUE(ServerRead(sent.size(), ec) == sent);
    writer.join();
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_FALSE(ServerWrite(sent));
    EXPECT_TRUE(ClientRead(*client, sent.size()) == sent);
  }
}

TEST_F(TlsStreamTest, ATls12ConnectionStaysWithOpenSsl) {
  SSL_CTX_set_max_proto_version(client_ctx_.native_handle(), TLS1_2_VERSION);
  auto client = Handshaken();
  ASSERT_TRUE(client);
  EXPECT_FALSE(server_->released_openssl());
  net::write(*client, net::buffer("hello", 5));
  beast::error_code ec;
  EXPECT_EQ(ServerRead(5, ec), "hello");
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_FALSE(ServerWrite("world"));
  EXPECT_EQ(ClientRead(*client, 5), "world");
}

TEST_F(TlsStreamTest, AForgedOrOversizedRecordEndsTheConnectionWithItsReason) {
  {
    auto client = Handshaken();
    ASSERT_TRUE(client);
    // A well-formed header and a body that was never sealed with the client's key.
    std::string forged("\x17\x03\x03\x00\x20", 5);
    forged += Pattern(32);
    net::write(client->next_layer(), net::buffer(forged));
    beast::error_code ec;
    ServerRead(1, ec);
    EXPECT_EQ(ec.category(), net::error::get_ssl_category());
    EXPECT_NE(ec.message().find("bad record mac"), std::string::npos) << ec.message();
    // And it stays failed: nothing after a forgery is believed.
    ServerRead(1, ec);
    EXPECT_NE(ec.message().find("bad record mac"), std::string::npos) << ec.message();
  }
  {
    auto client = Handshaken();
    ASSERT_TRUE(client);
    // A length beyond what TLS 1.3 allows is refused from the header alone.
    net::write(client->next_layer(), net::buffer(std::string("\x17\x03\x03\xff\xff", 5)));
    beast::error_code ec;
    ServerRead(1, ec);
    EXPECT_NE(ec.message().find("encrypted length too long"), std::string::npos)
        << ec.message();
  }
  {
    auto client = Handshaken();
    ASSERT_TRUE(client);
    // A plaintext alert after the handshake is not a record of this connection.
    const std::string alert("\x15\x03\x03\x00\x02\x02\x28", 7);  // fatal handshake_failure
    net::write(client->next_layer(), net::buffer(alert));
    beast::error_code ec;
    ServerRead(1, ec);
    EXPECT_NE(ec.message().find("unexpected record"), std::string::npos) << ec.message();
  }
}

TEST_F(TlsStreamTest, AReadAndAWriteInFlightAtOnce) {
  auto client = Handshaken();
  ASSERT_TRUE(client);

  const std::string big = Pattern(1 << 20);
  char byte = 0;
  std::promise<beast::error_code> read_done;
  std::promise<beast::error_code> write_done;
  net::post(server_->get_executor(), [&] {
    server_->async_read_some(net::buffer(&byte, 1), [&](beast::error_code ec, size_t n) {
      EXPECT_EQ(n, ec ? 0u : 1u);
      read_done.set_value(ec);
    });
    net::async_write(*server_, net::buffer(big),
                     [&](beast::error_code ec, size_t) { write_done.set_value(ec); });
  });
  // The client takes the whole megabyte first, then answers the pending read.
  const std::string got = ClientRead(*client, big.size());
  EXPECT_FALSE(write_done.get_future().get());
  EXPECT_TRUE(got == big);
  net::write(*client, net::buffer("z", 1));
  EXPECT_FALSE(read_done.get_future().get());
  EXPECT_EQ(byte, 'z');
}

TEST_F(TlsStreamTest, ADeadlineEndsASilentHandshakeWithTimeout) {
  auto accepted = Accept();
  auto client = Connect();  // TCP only: the client never says hello
  accepted.wait();
  const auto start = std::chrono::steady_clock::now();
  beast::error_code ec = RunOnServer([](TlsStream& s, auto done) {
    s.expires_after(std::chrono::milliseconds(200));
    s.async_handshake([done](beast::error_code ec) { done(ec); });
  });
  EXPECT_EQ(ec, beast::error::timeout) << ec.message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  // The connection is gone: the client reads end of file.
  char c;
  beast::error_code read_ec;
  client->next_layer().read_some(net::buffer(&c, 1), read_ec);
  EXPECT_TRUE(read_ec);
}

TEST_F(TlsStreamTest, ExpiresNeverKeepsAnIdleConnection) {
  auto accepted = Accept();
  auto client = Connect();
  std::thread handshake([&] { client->handshake(ssl::stream_base::client); });
  accepted.wait();
  ASSERT_FALSE(RunOnServer([](TlsStream& s, auto done) {
    s.expires_after(std::chrono::milliseconds(100));
    s.async_handshake([&s, done](beast::error_code ec) {
      s.expires_never();
      done(ec);
    });
  }));
  handshake.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the old deadline
  char byte = 0;
  std::thread writer([&] { net::write(*client, net::buffer("k", 1)); });
  EXPECT_FALSE(RunOnServer([&](TlsStream& s, auto done) {
    s.async_read_some(net::buffer(&byte, 1), [done](beast::error_code ec, size_t) { done(ec); });
  }));
  writer.join();
  EXPECT_EQ(byte, 'k');
}

TEST_F(TlsStreamTest, CloseNotifyIsEndOfFileAndACutIsTruncated) {
  {
    auto client = Handshaken();
    ASSERT_TRUE(client);
    // The client sends close_notify (and would wait for ours: do not wait for it).
    std::thread closer([&] {
      beast::error_code ignored;
      client->shutdown(ignored);
    });
    char c;
    beast::error_code ec = RunOnServer([&](TlsStream& s, auto done) {
      s.async_read_some(net::buffer(&c, 1), [done](beast::error_code ec, size_t) { done(ec); });
    });
    EXPECT_EQ(ec, net::error::eof) << ec.message();
    // Our close_notify answers the client's shutdown.
    EXPECT_FALSE(RunOnServer([](TlsStream& s, auto done) {
      s.async_shutdown([done](beast::error_code ec) { done(ec); });
    }));
    closer.join();
  }
  {
    auto client = Handshaken();
    ASSERT_TRUE(client);
    // End of stream without close_notify (a FIN: closing the socket outright could reset it,
    // with the server's session tickets unread).
    client->next_layer().shutdown(tcp::socket::shutdown_send);
    char c;
    beast::error_code ec = RunOnServer([&](TlsStream& s, auto done) {
      s.async_read_some(net::buffer(&c, 1), [done](beast::error_code ec, size_t) { done(ec); });
    });
    EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();
  }
}

TEST_F(TlsStreamTest, APeerGoneMidWriteIsAnErrorNotASignal) {
  auto client = Handshaken();
  ASSERT_TRUE(client);
  client->next_layer().close();
  const std::string big = Pattern(8 << 20);
  beast::error_code ec = RunOnServer([&](TlsStream& s, auto done) {
    net::async_write(s, net::buffer(big), [done](beast::error_code ec, size_t) { done(ec); });
  });
  EXPECT_TRUE(ec);  // EPIPE or a reset, and this process is still here to say so
}

TEST_F(TlsStreamTest, BeastWebSocketRunsOnItWithTheClosingHandshake) {
  auto accepted = Accept();
  websocket::stream<ssl::stream<tcp::socket>> client(client_io_, client_ctx_);
  client.next_layer().next_layer().connect(acceptor_.local_endpoint());
  TlsStream* raw = accepted.get();
  const auto strand = raw->get_executor();  // the stream moves into the WebSocket
  std::optional<websocket::stream<TlsStream>> ws;
  std::promise<std::string> echoed;
  std::promise<beast::error_code> closed;
  beast::flat_buffer buffer;
  net::post(strand, [&] {
    raw->async_handshake([&](beast::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      ws.emplace(std::move(*raw));
      ws->async_accept([&](beast::error_code ec) {
        ASSERT_FALSE(ec) << ec.message();
        ws->async_read(buffer, [&](beast::error_code ec, size_t) {
          ASSERT_FALSE(ec) << ec.message();
          echoed.set_value(beast::buffers_to_string(buffer.data()));
          ws->text(true);
          ws->async_write(buffer.data(), [&](beast::error_code ec, size_t) {
            ASSERT_FALSE(ec) << ec.message();
            buffer.consume(buffer.size());
            ws->async_read(buffer, [&](beast::error_code ec, size_t) { closed.set_value(ec); });
          });
        });
      });
    });
  });
  client.next_layer().handshake(ssl::stream_base::client);
  client.handshake("127.0.0.1", "/");
  const std::string message = Pattern(200 << 10);
  client.text(true);
  client.write(net::buffer(message));
  beast::flat_buffer reply;
  client.read(reply);
  EXPECT_TRUE(echoed.get_future().get() == message);
  EXPECT_TRUE(beast::buffers_to_string(reply.data()) == message);
  client.close(websocket::close_code::normal);
  EXPECT_EQ(closed.get_future().get(), websocket::error::closed);
  // The server's teardown closed the connection.
  beast::error_code ec;
  char c;
  client.next_layer().next_layer().read_some(net::buffer(&c, 1), ec);
  EXPECT_TRUE(ec);
  std::promise<void> gone;
  net::post(strand, [&] {
    ws.reset();
    gone.set_value();
  });
  gone.get_future().wait();
}

}  // namespace
}  // namespace vigil
