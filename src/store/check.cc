// What `strata check` needs of RocksDB that its C API (and so the rocksdb
// crate) does not offer: the live table and blob files of each column
// family, a per-file verification of every block of a table file, keys
// without their blob values (ReadOptions::allow_unprepared_value). A separate read-only instance of the database, so
// nothing here can change it. Errors come back as malloc'd strings, freed
// with strata_check_free.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace ROCKSDB_NAMESPACE;

struct strata_check_db {
  DB* db = nullptr;
  std::vector<ColumnFamilyHandle*> handles;
  std::vector<std::string> names;
};

struct strata_check_iter {
  std::unique_ptr<Iterator> it;
};

static char* dup_error(const Status& s) {
  std::string m = s.ToString();
  char* out = static_cast<char*>(std::malloc(m.size() + 1));
  if (out) std::memcpy(out, m.c_str(), m.size() + 1);
  return out;
}

static std::string join(const std::string& dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return dir + name;
  return dir + "/" + name;
}

static ColumnFamilyHandle* handle(strata_check_db* d, const char* cf) {
  for (size_t i = 0; i < d->names.size(); i++)
    if (d->names[i] == cf) return d->handles[i];
  return nullptr;
}

extern "C" {

void strata_check_free(char* p) { std::free(p); }

strata_check_db* strata_check_open(const char* path, char** err) {
  DBOptions dbo;
  dbo.max_open_files = 512;
  std::vector<std::string> names;
  Status s = DB::ListColumnFamilies(dbo, path, &names);
  if (!s.ok()) {
    *err = dup_error(s);
    return nullptr;
  }
  BlockBasedTableOptions table;
  table.block_cache = NewLRUCache(16 << 20);
  std::vector<ColumnFamilyDescriptor> cfs;
  for (auto& n : names) {
    ColumnFamilyOptions o;
    o.table_factory.reset(NewBlockBasedTableFactory(table));
    cfs.emplace_back(n, o);
  }
  auto d = new strata_check_db();
  s = DB::OpenForReadOnly(dbo, path, cfs, &d->handles, &d->db);
  if (!s.ok()) {
    delete d;
    *err = dup_error(s);
    return nullptr;
  }
  d->names = names;
  return d;
}

void strata_check_close(strata_check_db* d) {
  for (auto h : d->handles) d->db->DestroyColumnFamilyHandle(h);
  delete d->db;
  delete d;
}

// Calls `file` for every live table file (blob = 0) and blob file (blob =
// 1) of the column family, with its path and size.
char* strata_check_files(strata_check_db* d, const char* cf,
                         void (*file)(void* ctx, int blob, const char* path, uint64_t size), void* ctx) {
  ColumnFamilyHandle* h = handle(d, cf);
  if (!h) return dup_error(Status::NotFound("column family", cf));
  ColumnFamilyMetaData meta;
  d->db->GetColumnFamilyMetaData(h, &meta);
  for (auto& level : meta.levels)
    for (auto& f : level.files) file(ctx, 0, join(f.directory, f.relative_filename).c_str(), f.size);
  for (auto& b : meta.blob_files) file(ctx, 1, join(b.blob_file_path, b.blob_file_name).c_str(), b.blob_file_size);
  return nullptr;
}

// Verifies the checksum of every block of one table file (data, index,
// filter, meta blocks; the footer as it opens).
char* strata_check_table_file(const char* path) {
  Options o;
  SstFileReader reader(o);
  Status s = reader.Open(path);
  if (s.ok()) s = reader.VerifyChecksum();
  return s.ok() ? nullptr : dup_error(s);
}

// An iterator over a column family's keys that leaves blob values unread.
strata_check_iter* strata_check_keys(strata_check_db* d, const char* cf) {
  ColumnFamilyHandle* h = handle(d, cf);
  if (!h) return nullptr;
  ReadOptions ro;
  ro.allow_unprepared_value = true;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  auto i = new strata_check_iter();
  i->it.reset(d->db->NewIterator(ro, h));
  return i;
}

void strata_check_iter_seek(strata_check_iter* i, const char* key, size_t len) { i->it->Seek(Slice(key, len)); }
int strata_check_iter_valid(strata_check_iter* i) { return i->it->Valid() ? 1 : 0; }
void strata_check_iter_next(strata_check_iter* i) { i->it->Next(); }
const char* strata_check_iter_key(strata_check_iter* i, size_t* len) {
  Slice k = i->it->key();
  *len = k.size();
  return k.data();
}
char* strata_check_iter_status(strata_check_iter* i) {
  Status s = i->it->status();
  return s.ok() ? nullptr : dup_error(s);
}
void strata_check_iter_destroy(strata_check_iter* i) { delete i; }

// Reads one value with every checksum verified (the blob record's CRC
// too); `found` is 0 when the key is absent. The value is handed to `take`.
char* strata_check_get(strata_check_db* d, const char* cf, const char* key, size_t len, int* found,
                       void (*take)(void* ctx, const char* data, size_t len), void* ctx) {
  ColumnFamilyHandle* h = handle(d, cf);
  if (!h) return dup_error(Status::NotFound("column family", cf));
  ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  PinnableSlice v;
  Status s = d->db->Get(ro, h, Slice(key, len), &v);
  *found = 0;
  if (s.IsNotFound()) return nullptr;
  if (!s.ok()) return dup_error(s);
  *found = 1;
  take(ctx, v.data(), v.size());
  return nullptr;
}
}
