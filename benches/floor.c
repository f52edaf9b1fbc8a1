// floor.c: the least work a VRRP daemon can do for N instances, as a yardstick.
//
// A copy of ../shared/tools/floor.c for benches/scale.rs, which builds it
// with the system's cc. Two changes: `recv` and `lazy` take the interface
// to listen on (default eth0), so 1,000 instances over four LANs have a
// floor too (one sender and one receiver per LAN); `send` refuses more
// than 255 instances (one VRID each) instead of overrunning its arrays.
//
//   floor send N INTERVAL_S IFACE SRC   -- N VRRPv3 adverts (VRID 1..N, prio 100,
//        one IPv4 address each) every INTERVAL_S from one raw socket, all due
//        together, sent with one sendmmsg per wake-up of one periodic timerfd.
//   floor recv N [IFACE]                 -- event-driven backup: epoll on one raw
//        socket, recvmmsg batches, per packet: TTL, version/type, VRID lookup,
//        checksum, arrival time stored. No timer re-arm.
//   floor lazy N POLL_MS [IFACE]         -- batched backup: no readiness at all; a
//        periodic timerfd every POLL_MS drains the socket with recvmmsg (kernel
//        arrival stamps keep the timing exact). The physical floor of a backup.
//
// Prints nothing while running; SIGTERM ends it and it prints counts to stderr.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static int raw_socket(void) {
  int s = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, 112);
  if (s < 0) { perror("socket"); exit(1); }
  return s;
}

static void timer_every(int tfd, double secs) {
  struct itimerspec it = {0};
  long ns = (long)(secs * 1e9);
  it.it_interval.tv_sec = ns / 1000000000L; it.it_interval.tv_nsec = ns % 1000000000L;
  it.it_value = it.it_interval;
  timerfd_settime(tfd, 0, &it, NULL);
}

static int do_send(int n, double interval, const char *ifname, const char *src) {
  if (n < 1 || n > 255) { fprintf(stderr, "send: 1 to 255 instances per interface (VRIDs)\n"); return 2; }
  int s = raw_socket();
  int ttl = 255, tos = 0xc0;
  setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  struct ip_mreqn mr = {0};
  inet_pton(AF_INET, src, &mr.imr_address);
  mr.imr_ifindex = if_nametoindex(ifname);
  setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr);
  int loop = 0; setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  uint32_t saddr; inet_pton(AF_INET, src, &saddr);
  uint32_t daddr; inet_pton(AF_INET, "224.0.0.18", &daddr);
  static uint8_t pkt[1024][12];
  static struct iovec iov[1024];
  static struct mmsghdr msgs[1024];
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_addr.s_addr = daddr};
  int centis = (int)(interval * 100 + 0.5);
  for (int i = 0; i < n; i++) {
    uint8_t *p = pkt[i];
    p[0] = 0x31; p[1] = (uint8_t)(i + 1); p[2] = 100; p[3] = 1;
    p[4] = (centis >> 8) & 0x0f; p[5] = centis & 0xff; p[6] = p[7] = 0;
    uint32_t vip = htonl(0xc6336400u + (uint32_t)(i + 1)); // 198.51.100.x
    memcpy(p + 8, &vip, 4);
    // pseudo-header sum: src, dst, proto, length
    uint32_t sum = 0; uint8_t ph[12];
    memcpy(ph, &saddr, 4); memcpy(ph + 4, &daddr, 4); ph[8] = 0; ph[9] = 112; ph[10] = 0; ph[11] = 12;
    for (int k = 0; k < 12; k += 2) sum += (ph[k] << 8) | ph[k + 1];
    uint16_t c = csum(p, 12, sum); p[6] = c >> 8; p[7] = c & 0xff;
    iov[i].iov_base = p; iov[i].iov_len = 12;
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &dst; msgs[i].msg_hdr.msg_namelen = sizeof dst;
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  timer_every(tfd, interval);
  long sent = 0, wakes = 0;
  while (!stop) {
    uint64_t exp;
    if (read(tfd, &exp, 8) != 8) continue;
    wakes++;
    for (int off = 0; off < n;) {
      int r = sendmmsg(s, msgs + off, n - off, 0);
      if (r <= 0) { if (errno == EINTR) continue; break; }
      off += r; sent += r;
    }
  }
  fprintf(stderr, "sent %ld in %ld wakes\n", sent, wakes);
  return 0;
}

static struct timespec last[256];
static long got, bad;

static void handle(uint8_t *buf, int len, struct msghdr *h) {
  if (len < 20 + 8) { bad++; return; }
  struct iphdr *ip = (struct iphdr *)buf;
  int hl = ip->ihl * 4;
  if (ip->ttl != 255 || len < hl + 8) { bad++; return; }
  uint8_t *v = buf + hl;
  if (v[0] != 0x31) { bad++; return; }
  uint32_t sum = 0; uint8_t ph[12];
  memcpy(ph, &ip->saddr, 4); memcpy(ph + 4, &ip->daddr, 4); ph[8] = 0; ph[9] = 112; ph[10] = 0; ph[11] = (uint8_t)(len - hl);
  for (int k = 0; k < 12; k += 2) sum += (ph[k] << 8) | ph[k + 1];
  if (csum(v, len - hl, sum) != 0) { bad++; return; }
  struct timespec ts = {0};
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) memcpy(&ts, CMSG_DATA(c), sizeof ts);
  last[v[1]] = ts; got++;
}

static int do_recv(int n, int lazy_ms, const char *ifname) {
  (void)n;
  int s = raw_socket();
  int on = 1; setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  int rcv = 8 << 20; setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  struct ip_mreqn mr = {0};
  inet_pton(AF_INET, "224.0.0.18", &mr.imr_multiaddr);
  mr.imr_ifindex = if_nametoindex(ifname);
  setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr);
  static uint8_t bufs[BATCH][128];
  static uint8_t ctl[BATCH][64];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) { iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i]; }
  int wait_fd, ep = -1;
  if (lazy_ms > 0) {
    wait_fd = timerfd_create(CLOCK_MONOTONIC, 0);
    timer_every(wait_fd, lazy_ms / 1000.0);
  } else {
    ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    wait_fd = ep;
  }
  long wakes = 0, calls = 0;
  while (!stop) {
    if (lazy_ms > 0) { uint64_t e; if (read(wait_fd, &e, 8) != 8) continue; }
    else { struct epoll_event ev; if (epoll_wait(ep, &ev, 1, -1) <= 0) continue; }
    wakes++;
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = ctl[i]; msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
        msgs[i].msg_hdr.msg_name = NULL; msgs[i].msg_hdr.msg_namelen = 0;
      }
      int r = recvmmsg(s, msgs, BATCH, MSG_DONTWAIT, NULL);
      calls++;
      if (r <= 0) break;
      for (int i = 0; i < r; i++) handle(bufs[i], (int)msgs[i].msg_len, &msgs[i].msg_hdr);
      if (r < BATCH) break;
    }
  }
  fprintf(stderr, "got %ld bad %ld wakes %ld calls %ld\n", got, bad, wakes, calls);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGTERM, on_term); signal(SIGINT, on_term);
  if (argc >= 6 && !strcmp(argv[1], "send")) return do_send(atoi(argv[2]), atof(argv[3]), argv[4], argv[5]);
  if (argc >= 3 && !strcmp(argv[1], "recv")) return do_recv(atoi(argv[2]), 0, argc >= 4 ? argv[3] : "eth0");
  if (argc >= 4 && !strcmp(argv[1], "lazy")) return do_recv(atoi(argv[2]), atoi(argv[3]), argc >= 5 ? argv[4] : "eth0");
  fprintf(stderr, "usage: floor send N INTERVAL IFACE SRC | recv N [IFACE] | lazy N POLL_MS [IFACE]\n");
  return 2;
}
