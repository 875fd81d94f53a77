// The write floor of an export on this machine: how long the kernel takes to make a copy of a file durable, by
// the ways an exporter could write it, beside what `cp` leaves in the page cache. Not part of the build (a
// measurement, BENCHMARKS.md "Run 8"); build and run by hand:
//   gcc -O2 -o /tmp/write_floor bench/write_floor.c -lz
//   /tmp/write_floor cfr      SRC DST   # copy_file_range in 8 MiB pieces, no sync (what cp does)
//   /tmp/write_floor cfrpaced SRC DST   # the same with writeback every 32 MiB and fsync (what the exporter does)
//   /tmp/write_floor dio      SRC DST   # O_DIRECT writes from an aligned buffer filled from the map, fdatasync
//   /tmp/write_floor readdio  FILE -    # read back with O_DIRECT (from the disk), CRC-32
//   /tmp/write_floor readpc   FILE -    # read back through the page cache, CRC-32
// "loop" is the copy alone, "total" includes the final sync.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <zlib.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define PIECE (8<<20)
int main(int argc,char**argv){
  const char* mode=argv[1]; const char* src=argv[2]; const char* dst=argv[3];
  long shift = argc>4? atol(argv[4]):0;
  int s=open(src,O_RDONLY); struct stat st; fstat(s,&st); size_t n=st.st_size;
  unsigned char* m=mmap(0,n,PROT_READ,MAP_SHARED,s,0);
  volatile unsigned long sum=0; for(size_t i=0;i<n;i+=4096) sum+=m[i];
  double t0=now(), t1=0;
  if(!strcmp(mode,"cfr")||!strcmp(mode,"cfrsync")||!strcmp(mode,"cfrpaced")){
    int d=open(dst,O_WRONLY|O_CREAT|O_TRUNC,0644);
    if(shift){char z[8192]={0}; write(d,z,shift);}
    loff_t in=0,out=shift; size_t left=n; off_t started=0,waited=0;
    while(left){ssize_t c=copy_file_range(s,&in,d,&out,left>PIECE?PIECE:left,0); if(c<=0){perror("cfr");return 1;} left-=c;
      if(!strcmp(mode,"cfrpaced") && out-started>=(32<<20)){ if(started>waited){sync_file_range(d,waited,started-waited,7);waited=started;} sync_file_range(d,started,out-started,2); started=out;}}
    t1=now();
    if(strcmp(mode,"cfr")) fsync(d);
    close(d);
  } else if(!strcmp(mode,"dio")){
    int d=open(dst,O_WRONLY|O_CREAT|O_TRUNC|O_DIRECT,0644);
    size_t tot=(n+shift+4095)&~4095UL;
    fallocate(d,0,0,tot);
    unsigned char* b=NULL; if(posix_memalign((void**)&b,4096,PIECE)) return 1;
    // output byte k = src byte k-shift
    for(size_t off=0; off<tot; off+=PIECE){
      size_t len = tot-off>PIECE?PIECE:tot-off;
      for(size_t j=0;j<len;){ long sk=(long)(off+j)-shift; if(sk<0){b[j]=0;j++;continue;} size_t avail=n-sk; size_t k=len-j<avail?len-j:avail; if(sk>=(long)n){memset(b+j,0,len-j);break;} memcpy(b+j,m+sk,k); j+=k;}
      if(pwrite(d,b,len,off)!=(ssize_t)len){perror("pwrite");return 1;}
    }
    t1=now();
    ftruncate(d,n+shift); fdatasync(d); close(d);
  } else if(!strcmp(mode,"readdio")||!strcmp(mode,"readpc")){
    int d=open(src, O_RDONLY | (!strcmp(mode,"readdio")?O_DIRECT:0));
    unsigned char* b=NULL; if(posix_memalign((void**)&b,4096,PIECE)) return 1; unsigned long c=0;
    for(size_t off=0;off<n;off+=PIECE){ssize_t r=pread(d,b,PIECE,off); if(r<=0)break; c=crc32(c,b,r);}
    printf("crc %lx\n",c);
  }
  double t2=now();
  printf("%s: loop %.3f total %.3f s\n",mode,t1?t1-t0:t2-t0,t2-t0);
  return 0;
}
