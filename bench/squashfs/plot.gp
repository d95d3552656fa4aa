# The SquashFS benchmark's figures from run.sh's data files; `gnuplot -e "dir='OUT'; other='LABEL'" plot.gp`.
# A third panel when access.dat also has the ratios of a second FUSE server (run.sh's BENCH_OTHER_PROBE).
if (!exists("other")) other = "other server"
access = dir."/access.dat"
panels = system("awk '!/^#/ { print NF; exit }' ".access) > 5 ? 3 : 2
set terminal pngcairo size (panels == 3 ? 1500 : 1100),420 font ",10"
set output dir."/squashfs.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
set multiplot layout 1,panels title "SquashFS of the Debian 12 + Open MPI image: gzip layer (mpi), plain tar layer (mpi-tar), padded to ~1 GB (mpi-1g)"
set title "building the SquashFS (s, lower is better)"
set ylabel "seconds"
set yrange [0:system("awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i > m) m = $i } END { print m * 1.3 }' ".dir."/build.dat") + 0]
plot dir."/build.dat" using 2:xtic(1) title "ours: from the layer", \
     "" using 3 title "tar -x, then mksquashfs", \
     "" using 4 title "mksquashfs alone"
set ylabel "ratio"
# Both ratio panels on one scale, with room above the bars for the key.
set yrange [0:system("awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i > m) m = $i } END { print m * 1.4 }' ".access) + 0]
do for [first in (panels == 3 ? "2 6" : "2")] {
    f = first + 0
    set title (f == 2 ? "FUSE mount ÷ extracted tree (goal ≤ 1.5)" : other." ÷ extracted tree")
    plot access using f:xtic(1) title "walk, cold", \
         "" using f + 1 title "walk, warm", \
         "" using f + 2 title "read all, cold", \
         "" using f + 3 title "read all, warm", \
         1.5 with lines dashtype 2 linecolor rgb "black" title "goal", \
         1 with lines linecolor rgb "gray" notitle
}
unset multiplot
