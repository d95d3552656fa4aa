# Latency and bandwidth against message size, and cold step start against image size, from launch-bench's data
# files; `gnuplot -e "dir='OUT'" plot.gp`. A part of the benchmark that did not run (BENCH_PARTS) has no file and
# no plot.
set terminal pngcairo size 1100,420 font ",10"
set logscale xy 2
set format x "%.0b%B"
set xlabel "message size (bytes)"
set key top left
set grid
do for [nodes in "1node 2node mounted-1node mounted-2node"] {
    file = dir."/pingpong-".nodes.".dat"
    if (system("test -f ".file." && echo yes") eq "yes") {
        columns = system("head -1 ".file." | grep -o '\"' | wc -l") / 2
        set output dir."/pingpong-".nodes.".png"
        set multiplot layout 1,2 title (nodes[strlen(nodes)-4:] eq "1node" ? "ping-pong, two ranks on one node" : "ping-pong, one rank on each of two nodes").(nodes[1:7] eq "mounted" ? ": the image mounted (U1) and extracted" : "")
        set ylabel "half round-trip (µs)"
        set logscale y 10
        set format y "%g"
        plot for [i=2:columns+1] file using 1:i with linespoints title columnheader(i)
        set ylabel "bandwidth (MB/s)"
        plot for [i=2:columns+1] file using 1:($1/column(i)) with linespoints title columnheader(i)
        unset multiplot
    }
}
file = dir."/coldstart.dat"
if (system("test -f ".file." && echo yes") eq "yes") {
    set terminal pngcairo size 700,450 font ",10"
    set output dir."/coldstart.png"
    set title "cold 4-rank step on two nodes (every rank true) against image size"
    unset logscale
    set logscale x 10
    set logscale y 10
    set format x "%g"
    set format y "%g"
    set xlabel "image (its SquashFS), MB"
    set ylabel "step wall time (s)"
    set key top left
    plot for [i=2:6] file using 1:i with linespoints title columnheader(i)
}
