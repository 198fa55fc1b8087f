/*-------------------------------------------------------------------------
 *
 * directory.c
 *	  The page directory of the remote tier: slot descriptors, the
 *	  partitioned tag -> slot mapping, the invalidation generations and
 *	  CLOCK replacement.  See directory.h for the rules implemented here.
 *
 * Locking.  The mapping hash is split into RB_DIR_PARTITIONS partitions,
 * each guarded by one LWLock of the "remote_buffer directory" tranche.
 * Every slot descriptor has a spinlock guarding its fields; a partition
 * lock may be held while taking a slot spinlock, never the reverse.
 * Generations are atomics and never need a lock.  Nothing here allocates
 * memory or throws, so the data path functions are safe inside critical
 * sections.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "port/atomics.h"
#include "port/pg_crc32c.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"

#include "directory.h"
#include "shmem.h"

#define RB_DIR_PARTITIONS		128
#define RB_DIR_TRANCHE			"remote_buffer directory"
#define RB_DB_BUCKETS			1024
#define RB_REL_BUCKETS			65536
#define RB_BLK_BUCKETS			262144
#define RB_MAX_USAGE			5
#define RB_SWEEP_LIMIT			4096	/* slots examined per claim, at most */

typedef enum RbSlotState
{
	RB_SLOT_FREE = 0,
	RB_SLOT_BUSY,				/* claimed by an admission in progress */
	RB_SLOT_VALID
} RbSlotState;

typedef struct RbSlot
{
	slock_t		mutex;
	uint8		state;			/* RbSlotState */
	uint8		usage;			/* CLOCK usage count */
	RbPageTag	tag;
	uint64		version;		/* bumped on every change of the slot */
	uint64		seg_gen;		/* segment generation at admission */
	uint64		global_gen;
	uint64		db_gen;
	uint64		rel_gen;
	uint64		blk_gen;
	uint32		crc;
} RbSlot;

typedef struct RbMapEntry
{
	RbPageTag	tag;			/* hash key */
	int			slot;
} RbMapEntry;

typedef struct RbDirShared
{
	pg_atomic_uint64 global_gen;
	pg_atomic_uint32 clock_hand;
	uint64		nslots;
	uint64		slots_per_seg;
	LWLockPadded *locks;
	pg_atomic_uint64 db_gen[RB_DB_BUCKETS];
	pg_atomic_uint64 rel_gen[RB_REL_BUCKETS];
	pg_atomic_uint64 blk_gen[RB_BLK_BUCKETS];
	pg_atomic_uint64 seg_used[FLEXIBLE_ARRAY_MEMBER];	/* per segment */
} RbDirShared;

static RbDirShared *rb_dir = NULL;
static RbSlot *rb_slots = NULL;
static HTAB *rb_map = NULL;

static uint64
rb_dir_nslots(void)
{
	return (uint64) rb_segments_max() * (rb_segment_bytes() / BLCKSZ);
}

static Size
rb_dir_shared_size(void)
{
	return add_size(offsetof(RbDirShared, seg_used),
					mul_size(Max(rb_segments_max(), 1),
							 sizeof(pg_atomic_uint64)));
}

Size
rb_dir_shmem_size(void)
{
	Size		size = MAXALIGN(rb_dir_shared_size());
	long		n = (long) Max(rb_dir_nslots(), 1);

	size = add_size(size, MAXALIGN(mul_size(n, sizeof(RbSlot))));
	size = add_size(size, hash_estimate_size(n + RB_DIR_PARTITIONS,
											 sizeof(RbMapEntry)));
	return size;
}

void
rb_dir_shmem_request(void)
{
	RequestAddinShmemSpace(rb_dir_shmem_size());
	RequestNamedLWLockTranche(RB_DIR_TRANCHE, RB_DIR_PARTITIONS);
}

void
rb_dir_shmem_init(void)
{
	bool		found;
	HASHCTL		info;
	long		n = (long) Max(rb_dir_nslots(), 1);

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rb_dir = ShmemInitStruct("remote_buffer directory",
							 rb_dir_shared_size(), &found);
	if (!found)
	{
		pg_atomic_init_u64(&rb_dir->global_gen, 1);
		pg_atomic_init_u32(&rb_dir->clock_hand, 0);
		rb_dir->nslots = rb_dir_nslots();
		rb_dir->slots_per_seg = rb_segment_bytes() / BLCKSZ;
		rb_dir->locks = GetNamedLWLockTranche(RB_DIR_TRANCHE);
		for (int i = 0; i < RB_DB_BUCKETS; i++)
			pg_atomic_init_u64(&rb_dir->db_gen[i], 1);
		for (int i = 0; i < RB_REL_BUCKETS; i++)
			pg_atomic_init_u64(&rb_dir->rel_gen[i], 1);
		for (int i = 0; i < RB_BLK_BUCKETS; i++)
			pg_atomic_init_u64(&rb_dir->blk_gen[i], 1);
		for (int i = 0; i < Max(rb_segments_max(), 1); i++)
			pg_atomic_init_u64(&rb_dir->seg_used[i], 0);
	}
	rb_slots = ShmemInitStruct("remote_buffer slots",
							   mul_size(n, sizeof(RbSlot)), &found);
	if (!found)
	{
		for (long i = 0; i < n; i++)
		{
			memset(&rb_slots[i], 0, sizeof(RbSlot));
			SpinLockInit(&rb_slots[i].mutex);
		}
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(RbPageTag);
	info.entrysize = sizeof(RbMapEntry);
	info.num_partitions = RB_DIR_PARTITIONS;
	rb_map = ShmemInitHash("remote_buffer mapping",
						   n + RB_DIR_PARTITIONS, n + RB_DIR_PARTITIONS,
						   &info, HASH_ELEM | HASH_BLOBS | HASH_PARTITION);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Generation buckets
 */
static inline pg_atomic_uint64 *
rb_db_bucket(Oid dbNode)
{
	return &rb_dir->db_gen[hash_uint32((uint32) dbNode) % RB_DB_BUCKETS];
}

/* The relation's bucket ignores the fork: one bump covers all forks. */
static inline pg_atomic_uint64 *
rb_rel_bucket(RelFileNode rnode)
{
	uint32		h = hash_bytes((const unsigned char *) &rnode,
							   sizeof(RelFileNode));

	return &rb_dir->rel_gen[h % RB_REL_BUCKETS];
}

static inline uint32
rb_tag_hash(const RbPageTag *tag)
{
	return get_hash_value(rb_map, tag);
}

static inline pg_atomic_uint64 *
rb_blk_bucket(const RbPageTag *tag)
{
	uint32		h = hash_bytes((const unsigned char *) tag, sizeof(RbPageTag));

	return &rb_dir->blk_gen[h % RB_BLK_BUCKETS];
}

static inline LWLock *
rb_partition_lock(uint32 hash)
{
	return &rb_dir->locks[hash % RB_DIR_PARTITIONS].lock;
}

void
rb_dir_snapshot(RelFileNode rnode, RbDirSnapshot *snap)
{
	if (rb_dir == NULL)
	{
		memset(snap, 0, sizeof(*snap));
		return;
	}
	snap->global_gen = pg_atomic_read_u64(&rb_dir->global_gen);
	snap->db_gen = pg_atomic_read_u64(rb_db_bucket(rnode.dbNode));
	snap->rel_gen = pg_atomic_read_u64(rb_rel_bucket(rnode));
	pg_memory_barrier();
}

uint64
rb_dir_block_gen(const RbPageTag *tag)
{
	uint64		g;

	if (rb_dir == NULL)
		return 0;
	g = pg_atomic_read_u64(rb_blk_bucket(tag));
	pg_memory_barrier();
	return g;
}

void
rb_dir_invalidate_block(RelFileNode rnode, ForkNumber fork, BlockNumber block)
{
	RbPageTag	tag;

	if (rb_dir == NULL)
		return;
	memset(&tag, 0, sizeof(tag));
	tag.rnode = rnode;
	tag.forknum = fork;
	tag.blocknum = block;
	pg_atomic_fetch_add_u64(rb_blk_bucket(&tag), 1);
}

void
rb_dir_invalidate_rel(RelFileNode rnode)
{
	if (rb_dir != NULL)
		pg_atomic_fetch_add_u64(rb_rel_bucket(rnode), 1);
}

void
rb_dir_invalidate_db(Oid dbNode)
{
	if (rb_dir != NULL)
		pg_atomic_fetch_add_u64(rb_db_bucket(dbNode), 1);
}

void
rb_dir_invalidate_all(void)
{
	if (rb_dir != NULL)
		pg_atomic_fetch_add_u64(&rb_dir->global_gen, 1);
}

bool
rb_dir_any_active(void)
{
	if (rb_dir == NULL || rb_ctl == NULL || rb_dir->nslots == 0)
		return false;
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		if (rb_ctl->segments[s].state == RB_SEG_ACTIVE)
			return true;
	}
	return false;
}

uint64
rb_dir_slots_per_segment(void)
{
	return rb_dir ? rb_dir->slots_per_seg : 0;
}

uint64
rb_dir_used_slots(int seg)
{
	if (rb_dir == NULL || seg < 0 || seg >= rb_ctl->nsegments)
		return 0;
	return pg_atomic_read_u64(&rb_dir->seg_used[seg]);
}

/* Are the generations recorded in a (copied) descriptor all current? */
static bool
rb_slot_current(const RbSlot *d)
{
	return d->global_gen == pg_atomic_read_u64(&rb_dir->global_gen) &&
		d->db_gen == pg_atomic_read_u64(rb_db_bucket(d->tag.rnode.dbNode)) &&
		d->rel_gen == pg_atomic_read_u64(rb_rel_bucket(d->tag.rnode)) &&
		d->blk_gen == pg_atomic_read_u64(rb_blk_bucket(&d->tag));
}

static inline int
rb_slot_segment(int slot)
{
	return (int) ((uint64) slot / rb_dir->slots_per_seg);
}

static inline bool
rb_seg_gen_is(int seg, uint64 gen)
{
	return pg_atomic_read_u64(&rb_ctl->segments[seg].generation) == gen;
}

/*
 * Where a slot's page lives right now, if its segment is ACTIVE with
 * generation gen (gen == 0: any generation, returned in *gen_out).
 */
static bool
rb_slot_location(int slot, uint64 gen, uint64 *gen_out, RbDirRef *ref)
{
	int			seg = rb_slot_segment(slot);
	RbSegment  *s = &rb_ctl->segments[seg];
	bool		ok = false;

	LWLockAcquire(rb_ctl->lock, LW_SHARED);
	if (s->state == RB_SEG_ACTIVE && s->peer >= 0 &&
		s->bytes >= rb_ctl->segment_bytes)
	{
		uint64		cur = pg_atomic_read_u64(&s->generation);

		if (gen == 0 || cur == gen)
		{
			ref->peer = s->peer;
			ref->lease_id = s->lease_id;
			ref->offset = ((uint64) slot % rb_dir->slots_per_seg) * BLCKSZ;
			if (gen_out)
				*gen_out = cur;
			ok = true;
		}
	}
	LWLockRelease(rb_ctl->lock);
	return ok;
}

bool
rb_dir_lookup(const RbPageTag *tag, RbDirRef *ref)
{
	uint32		hash;
	LWLock	   *lock;
	RbMapEntry *e;
	int			slot = -1;
	RbSlot		copy;
	RbSlot	   *d;

	if (rb_dir == NULL || rb_dir->nslots == 0)
		return false;

	hash = rb_tag_hash(tag);
	lock = rb_partition_lock(hash);
	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(rb_map, tag, hash, HASH_FIND, NULL);
	if (e != NULL)
		slot = e->slot;
	LWLockRelease(lock);
	if (slot < 0)
		return false;

	d = &rb_slots[slot];
	SpinLockAcquire(&d->mutex);
	if (d->state != RB_SLOT_VALID ||
		memcmp(&d->tag, tag, sizeof(RbPageTag)) != 0)
	{
		SpinLockRelease(&d->mutex);
		return false;
	}
	if (d->usage < RB_MAX_USAGE)
		d->usage++;
	copy = *d;
	SpinLockRelease(&d->mutex);

	if (!rb_slot_current(&copy))
		return false;
	if (!rb_slot_location(slot, copy.seg_gen, NULL, ref))
		return false;
	ref->slot = slot;
	ref->version = copy.version;
	ref->seg_gen = copy.seg_gen;
	ref->crc = copy.crc;
	return true;
}

static uint32
rb_page_crc(const RbPageTag *tag, const char *page)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, tag, sizeof(RbPageTag));
	COMP_CRC32C(crc, page, BLCKSZ);
	FIN_CRC32C(crc);
	return crc;
}

bool
rb_dir_recheck(const RbPageTag *tag, const RbDirRef *ref, const char *page,
			   bool *crc_failed)
{
	RbSlot	   *d = &rb_slots[ref->slot];
	RbSlot		copy;

	*crc_failed = false;
	pg_memory_barrier();
	SpinLockAcquire(&d->mutex);
	copy = *d;
	SpinLockRelease(&d->mutex);

	if (copy.state != RB_SLOT_VALID || copy.version != ref->version ||
		memcmp(&copy.tag, tag, sizeof(RbPageTag)) != 0)
		return false;
	if (!rb_slot_current(&copy) ||
		!rb_seg_gen_is(rb_slot_segment(ref->slot), copy.seg_gen))
		return false;
	if (rb_page_crc(tag, page) != ref->crc)
	{
		*crc_failed = true;
		return false;
	}
	return true;
}

/* Remove slot's mapping entry for tag, if the entry still points to it. */
static void
rb_unmap(const RbPageTag *tag, int slot)
{
	uint32		hash = rb_tag_hash(tag);
	LWLock	   *lock = rb_partition_lock(hash);
	RbMapEntry *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(rb_map, tag, hash, HASH_FIND, NULL);
	if (e != NULL && e->slot == slot)
		hash_search_with_hash_value(rb_map, tag, hash, HASH_REMOVE, NULL);
	LWLockRelease(lock);
}

/*
 * CLOCK sweep.  Slots of segments that are not ACTIVE are skipped a whole
 * segment at a time; stale entries are taken at once; the sweep gives up
 * after RB_SWEEP_LIMIT slots.
 */
bool
rb_dir_claim(RbDirRef *ref)
{
	uint64		nslots;

	if (rb_dir == NULL || rb_dir->nslots == 0)
		return false;
	nslots = rb_dir->nslots;

	for (int step = 0; step < RB_SWEEP_LIMIT; step++)
	{
		uint32		hand = pg_atomic_fetch_add_u32(&rb_dir->clock_hand, 1);
		int			slot = (int) (hand % nslots);
		int			seg = rb_slot_segment(slot);
		RbSlot	   *d = &rb_slots[slot];
		RbSlot		old;
		bool		take = false;

		if (rb_ctl->segments[seg].state != RB_SEG_ACTIVE)
		{
			/* jump to the next segment */
			uint32		skip = (uint32) (rb_dir->slots_per_seg -
										 (slot % rb_dir->slots_per_seg)) - 1;

			if (skip > 0)
				pg_atomic_fetch_add_u32(&rb_dir->clock_hand, skip);
			continue;
		}

		SpinLockAcquire(&d->mutex);
		if (d->state == RB_SLOT_FREE)
			take = true;
		else if (d->state == RB_SLOT_VALID)
		{
			if (!rb_slot_current(d) ||
				!rb_seg_gen_is(seg, d->seg_gen) || d->usage == 0)
				take = true;
			else
				d->usage--;
		}
		if (take)
		{
			old = *d;
			d->state = RB_SLOT_BUSY;
			d->version++;
			d->usage = 0;
		}
		SpinLockRelease(&d->mutex);
		if (!take)
			continue;

		if (old.state == RB_SLOT_VALID)
		{
			rb_unmap(&old.tag, slot);
			pg_atomic_fetch_sub_u64(&rb_dir->seg_used[seg], 1);
		}

		/* the segment must be ACTIVE; remember its generation */
		if (!rb_slot_location(slot, 0, &ref->seg_gen, ref))
		{
			rb_dir_abandon(&(RbDirRef) {.slot = slot});
			return false;
		}
		ref->slot = slot;
		return true;
	}
	return false;
}

void
rb_dir_abandon(const RbDirRef *ref)
{
	RbSlot	   *d = &rb_slots[ref->slot];

	SpinLockAcquire(&d->mutex);
	d->state = RB_SLOT_FREE;
	d->version++;
	SpinLockRelease(&d->mutex);
}

void
rb_dir_publish(const RbPageTag *tag, const RbDirRef *ref,
			   const RbDirSnapshot *snap, uint64 blk_gen, const char *page)
{
	uint32		hash = rb_tag_hash(tag);
	LWLock	   *lock = rb_partition_lock(hash);
	RbMapEntry *e;
	bool		found;
	uint32		crc = rb_page_crc(tag, page);
	RbSlot	   *d = &rb_slots[ref->slot];
	int			seg = rb_slot_segment(ref->slot);

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(rb_map, tag, hash, HASH_ENTER_NULL,
									&found);
	if (e == NULL)
	{
		LWLockRelease(lock);
		rb_dir_abandon(ref);
		return;
	}
	if (found && e->slot != ref->slot)
	{
		/* an older copy: retire it, the mapping moves to our slot */
		RbSlot	   *o = &rb_slots[e->slot];
		bool		was_valid = false;

		SpinLockAcquire(&o->mutex);
		if (o->state == RB_SLOT_VALID &&
			memcmp(&o->tag, tag, sizeof(RbPageTag)) == 0)
		{
			o->state = RB_SLOT_FREE;
			o->version++;
			was_valid = true;
		}
		SpinLockRelease(&o->mutex);
		if (was_valid)
			pg_atomic_fetch_sub_u64(&rb_dir->seg_used[rb_slot_segment(e->slot)], 1);
	}
	e->slot = ref->slot;

	SpinLockAcquire(&d->mutex);
	d->tag = *tag;
	d->seg_gen = ref->seg_gen;
	d->global_gen = snap->global_gen;
	d->db_gen = snap->db_gen;
	d->rel_gen = snap->rel_gen;
	d->blk_gen = blk_gen;
	d->crc = crc;
	d->usage = 1;
	d->version++;
	d->state = RB_SLOT_VALID;
	SpinLockRelease(&d->mutex);
	pg_atomic_fetch_add_u64(&rb_dir->seg_used[seg], 1);
	LWLockRelease(lock);
}

void
rb_dir_reclaim_stale(void)
{
	if (rb_dir == NULL)
		return;
	for (uint64 i = 0; i < rb_dir->nslots; i++)
	{
		RbSlot	   *d = &rb_slots[i];
		int			seg = rb_slot_segment((int) i);
		RbPageTag	tag;
		bool		stale = false;

		SpinLockAcquire(&d->mutex);
		if (d->state == RB_SLOT_VALID &&
			(!rb_slot_current(d) || !rb_seg_gen_is(seg, d->seg_gen)))
		{
			tag = d->tag;
			d->state = RB_SLOT_BUSY;
			d->version++;
			stale = true;
		}
		SpinLockRelease(&d->mutex);
		if (!stale)
			continue;
		rb_unmap(&tag, (int) i);
		pg_atomic_fetch_sub_u64(&rb_dir->seg_used[seg], 1);
		rb_dir_abandon(&(RbDirRef) {.slot = (int) i});
	}
}
