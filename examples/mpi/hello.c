/* hello: every MPI rank prints one line, "hello from rank R of N on HOST".
 *
 * Build:  mpicc -O2 -o hello hello.c
 * Run:    srun -N2 -n4 --mpi=pmix ./hello      (or: mpirun -np 4 ./hello)
 *
 * Ranks that print "rank 0 of 1" several times were started as MPI singletons: the process manager's
 * environment (PMIX_*, PMI_*, OMPI_*) did not reach them.
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank, size, length;
    char host[MPI_MAX_PROCESSOR_NAME];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &length);
    printf("hello from rank %d of %d on %s\n", rank, size, host);
    MPI_Finalize();
    return 0;
}
