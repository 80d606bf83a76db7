// Received tensor memfds: each rejection (not regular, linked, unsealed, FUTURE_WRITE only,
// storage outside the fd, budget at N and N+1), the sealed arena the worker builds, and the
// read-only / copy-on-write mappings.
#include "sandbox/tensor_transport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace sealpkg::sandbox {
namespace {

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

UniqueFd Memfd(uint64_t size, int seals) {
  UniqueFd fd(::memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seals != 0) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0) << std::strerror(errno);
  }
  return fd;
}

constexpr int kAllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

TEST(TensorTransportTest, AcceptsFullySealedMemfd) {
  UniqueFd fd = Memfd(4096, kAllSeals);
  auto size = CheckReceivedFd(fd.get());
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 4096u);
}

TEST(TensorTransportTest, RejectsEachMissingSeal) {
  for (int missing : {F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE}) {
    UniqueFd fd = Memfd(64, kAllSeals & ~missing);
    auto r = CheckReceivedFd(fd.get());
    ASSERT_FALSE(r.ok()) << "missing seal " << missing;
    EXPECT_EQ(r.status().reason(), "ipc.fd-not-sealed");
  }
  UniqueFd unsealed = Memfd(64, 0);
  EXPECT_EQ(CheckReceivedFd(unsealed.get()).status().reason(), "ipc.fd-not-sealed");
  // FUTURE_WRITE lets an existing writable mapping keep writing: not good enough.
  UniqueFd future = Memfd(64, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
  EXPECT_EQ(CheckReceivedFd(future.get()).status().reason(), "ipc.fd-not-sealed");
}

TEST(TensorTransportTest, RejectsPipeSocketAndLinkedFile) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_EQ(CheckReceivedFd(r.get()).status().reason(), "ipc.fd-not-regular");
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd s0(s[0]), s1(s[1]);
  EXPECT_EQ(CheckReceivedFd(s0.get()).status().reason(), "ipc.fd-not-regular");
  char path[] = "/tmp/sealpkg-transport-XXXXXX";
  UniqueFd file(::mkstemp(path));
  ASSERT_TRUE(file.valid());
  EXPECT_EQ(CheckReceivedFd(file.get()).status().reason(), "ipc.fd-linked");
  ::unlink(path);
  // Unlinked but an ordinary file: F_GET_SEALS fails (EINVAL).
  EXPECT_EQ(CheckReceivedFd(file.get()).status().reason(), "ipc.fd-not-sealed");
  EXPECT_EQ(CheckReceivedFd(-1).status().reason(), "io.fstat");
}

Value OneTensor(uint64_t byte_offset, uint64_t nbytes, uint32_t fd_index = 0) {
  TensorRef t;
  t.dtype = DType::kUInt8;
  t.shape = {static_cast<int64_t>(nbytes)};
  t.strides = {1};
  t.fd_index = fd_index;
  t.storage_byte_offset = byte_offset;
  t.storage_nbytes = nbytes;
  return Value::Dict({{"t", Value::List({Value::Tensor(t)})}});
}

TEST(TensorTransportTest, StorageMustLieInsideItsFd) {
  SandboxLimits limits;
  const std::vector<uint64_t> sizes{128};
  EXPECT_TRUE(CheckTensorsFit(OneTensor(64, 64), sizes, limits).ok());
  EXPECT_EQ(CheckTensorsFit(OneTensor(64, 65), sizes, limits).reason(), "ipc.storage-out-of-fd");
  EXPECT_EQ(CheckTensorsFit(OneTensor(192, 0), sizes, limits).reason(), "ipc.storage-out-of-fd");
  EXPECT_EQ(CheckTensorsFit(OneTensor(64, UINT64_MAX - 10), sizes, limits).reason(),
            "ipc.storage-out-of-fd");
  EXPECT_EQ(CheckTensorsFit(OneTensor(0, 1, 1), sizes, limits).reason(), "ipc.storage-out-of-fd");
}

TEST(TensorTransportTest, BudgetAtNAndNPlusOne) {
  SandboxLimits limits;
  limits.max_tensor_bytes = 1000;
  const std::vector<uint64_t> at{600, 400}, over{600, 401};
  const Value both = Value::List({OneTensor(0, 600, 0), OneTensor(0, 400, 1)});
  EXPECT_TRUE(CheckTensorsFit(both, at, limits).ok());
  const Status s = CheckTensorsFit(Value::None(), over, limits);
  EXPECT_EQ(s.reason(), "ipc.tensor-budget");
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  const std::vector<uint64_t> wrap{UINT64_MAX, 2};
  EXPECT_EQ(CheckTensorsFit(Value::None(), wrap, limits).reason(), "ipc.tensor-budget");
}

TEST(TensorTransportTest, EveryNonEmptyFdMustBeReferenced) {
  SandboxLimits limits;
  const std::vector<uint64_t> two{64, 64}, empty_second{64, 0};
  const Status s = CheckTensorsFit(OneTensor(0, 8, 0), two, limits);
  EXPECT_EQ(s.reason(), "ipc.unreferenced-fd");
  EXPECT_EQ(s.code(), ErrorCode::kMalformed);
  EXPECT_TRUE(CheckTensorsFit(OneTensor(0, 8, 0), empty_second, limits).ok());
  EXPECT_TRUE(CheckTensorsFit(Value::None(), std::vector<uint64_t>{0}, limits).ok());
  EXPECT_EQ(CheckTensorsFit(Value::None(), std::vector<uint64_t>{1}, limits).reason(),
            "ipc.unreferenced-fd");
}

TEST(TensorTransportTest, ArenaIsSealedAlignedAndMapsZeroCopy) {
  const std::string a = "hello", b(100, 'x');
  const std::vector<std::span<const uint8_t>> chunks{
      {reinterpret_cast<const uint8_t*>(a.data()), a.size()},
      {reinterpret_cast<const uint8_t*>(b.data()), b.size()}};
  std::vector<uint64_t> offsets;
  auto fd = BuildSealedArena(chunks, &offsets);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  ASSERT_EQ(offsets, (std::vector<uint64_t>{0, 64}));
  auto size = CheckReceivedFd(fd->get());
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 164u);
  // Sealed: neither write nor a writable shared mapping is possible.
  EXPECT_EQ(::pwrite(fd->get(), "z", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0), MAP_FAILED);

  auto ro = MappedArena::Map(fd->get(), *size, /*copy_on_write=*/false);
  ASSERT_TRUE(ro.ok());
  EXPECT_FALSE(ro->writable());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ro->data()), 5), "hello");
  EXPECT_EQ(ro->data()[64], 'x');

  auto cow = MappedArena::Map(fd->get(), *size, /*copy_on_write=*/true);
  ASSERT_TRUE(cow.ok());
  cow->data()[0] = 'J';  // private copy
  EXPECT_EQ(cow->data()[0], 'J');
  EXPECT_EQ(ro->data()[0], 'h');
  auto again = MappedArena::Map(fd->get(), *size, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data()[0], 'h');
}

TEST(TensorTransportTest, EmptyArena) {
  std::vector<uint64_t> offsets;
  auto fd = BuildSealedArena({}, &offsets);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(offsets.empty());
  auto size = CheckReceivedFd(fd->get());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  auto map = MappedArena::Map(fd->get(), 0, true);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->size(), 0u);
}

}  // namespace
}  // namespace sealpkg::sandbox
