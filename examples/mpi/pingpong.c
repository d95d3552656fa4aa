/* pingpong: OSU-style point-to-point latency and bandwidth between ranks 0 and 1.
 *
 * Build:  mpicc -O2 -o pingpong pingpong.c
 * Run:    srun -N2 -n2 --mpi=pmix ./pingpong     (one rank per node: the interconnect)
 *         srun -N1 -n2 --mpi=pmix ./pingpong     (both on one node: shared memory)
 *
 * For each message size from 8 B to 4 MiB (powers of two) rank 0 sends the message to rank 1, which sends it
 * back; after a few untimed warm-up round trips the timed ones give the half round-trip time. Rank 0 prints a
 * comment line starting with '#', then one line per size:
 *
 *     SIZE HALF_RTT_US BANDWIDTH_MBPS
 *
 * SIZE in bytes, HALF_RTT_US the one-way latency in microseconds, BANDWIDTH_MBPS = SIZE / HALF_RTT_US in
 * megabytes (10^6 bytes) per second. Ranks beyond 1, if any, only wait.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SIZE 8
#define MAX_SIZE (4 << 20)
#define LARGE_SIZE (64 << 10)   /* from here on, fewer round trips: each one already takes long */

static int iterations(int size) { return size < LARGE_SIZE ? 2000 : 200; }
static int warmups(int size) { return size < LARGE_SIZE ? 200 : 20; }

/* Seconds for `count` round trips of `size` bytes between ranks 0 and 1 (meaningful on rank 0). */
static double round_trips(char *buffer, int size, int count, int rank)
{
    double start = MPI_Wtime();
    for (int i = 0; i < count; i++) {
        if (rank == 0) {
            MPI_Send(buffer, size, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buffer, size, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buffer, size, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buffer, size, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - start;
}

int main(int argc, char **argv)
{
    int rank, ranks;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (ranks < 2) {
        if (rank == 0) fprintf(stderr, "pingpong: needs at least 2 ranks, got %d\n", ranks);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    char *buffer = malloc(MAX_SIZE);
    if (buffer == NULL) {
        fprintf(stderr, "pingpong: cannot allocate %d bytes\n", MAX_SIZE);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(buffer, 'x', MAX_SIZE);

    if (rank == 0) printf("# size_bytes half_rtt_us bandwidth_MBps\n");
    for (int size = MIN_SIZE; size <= MAX_SIZE; size *= 2) {
        MPI_Barrier(MPI_COMM_WORLD);
        round_trips(buffer, size, warmups(size), rank);
        double seconds = round_trips(buffer, size, iterations(size), rank);
        if (rank == 0) {
            double half_rtt_us = seconds * 1e6 / (2.0 * iterations(size));
            // %g for the bandwidth: a slow small-message round trip (a loaded node) must not print as 0.00.
            printf("%d %.2f %.6g\n", size, half_rtt_us, size / half_rtt_us);
            fflush(stdout);
        }
    }

    free(buffer);
    MPI_Finalize();
    return 0;
}
