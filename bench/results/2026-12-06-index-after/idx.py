import sqlite3, random, time, os, sys
mode=sys.argv[1]; n=int(sys.argv[2]); per=int(sys.argv[3])
path=f'/tmp/idx/{mode}.db'
for suf in ('','-wal','-shm'):
    try: os.remove(path+suf)
    except FileNotFoundError: pass
c=sqlite3.connect(path, isolation_level=None)
c.execute('pragma journal_mode=wal'); c.execute('pragma synchronous=full'); c.execute('pragma cache_size=-32768')
c.execute('''CREATE TABLE Contact (id INTEGER PRIMARY KEY, phoneNumber TEXT, email TEXT, linkedId INTEGER, linkPrecedence TEXT NOT NULL, createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL, deletedAt TEXT)''')
idx=['CREATE INDEX IX_Contact_email ON Contact (email, linkedId, deletedAt) WHERE deletedAt IS NULL',
     'CREATE INDEX IX_Contact_phoneNumber ON Contact (phoneNumber, linkedId, deletedAt) WHERE deletedAt IS NULL',
     'CREATE INDEX IX_Contact_linkedId ON Contact (linkedId) WHERE deletedAt IS NULL']
if mode=='with':
    for s in idx: c.execute(s)
r=random.Random(1)
rows=[]
for i in range(n):
    k=r.randrange(10**9)
    rows.append((f'+1{k:010d}', f'customer{k}@example.com', None if r.random()<0.7 else r.randrange(1,i+2), 'primary', '2026-12-06T00:00:00.000000Z','2026-12-06T00:00:00.000000Z'))
t=time.time()
for b in range(0,n,per):
    c.execute('BEGIN IMMEDIATE')
    c.executemany('INSERT INTO Contact (phoneNumber,email,linkedId,linkPrecedence,createdAt,updatedAt) VALUES (?,?,?,?,?,?)', rows[b:b+per])
    c.execute('COMMIT')
t1=time.time()
if mode=='after':
    c.execute('BEGIN IMMEDIATE')
    for s in idx: c.execute(s)
    c.execute('COMMIT')
t2=time.time()
print(f'{mode} n={n} per={per}: inserts {t1-t:.1f} s, index build {t2-t1:.1f} s, total {t2-t:.1f} s = {n/(t2-t):,.0f} rows/s')
