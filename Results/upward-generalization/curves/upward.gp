if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1800,400 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1800,400 enhanced font "sans,10" }
set output "upward.".fmt
set grid
set multiplot layout 1,4
set key bottom right
set logscale x 2
set xlabel "test-time iteration budget"; set ylabel "per-position accuracy"; set yrange [0:1]
set title "length 32"
plot "baseline-L32.dat" using 1:2:3:4 with yerrorlines title "baseline (n = 3)", "path-independent-L32.dat" using 1:2:3:4 with yerrorlines title "path-independent (n = 3)"
set title "length 48"
plot "baseline-L48.dat" using 1:2:3:4 with yerrorlines title "baseline (n = 3)", "path-independent-L48.dat" using 1:2:3:4 with yerrorlines title "path-independent (n = 3)"
set title "length 96"
plot "baseline-L96.dat" using 1:2:3:4 with yerrorlines title "baseline (n = 3)", "path-independent-L96.dat" using 1:2:3:4 with yerrorlines title "path-independent (n = 3)"
set title "length 256"
plot "baseline-L256.dat" using 1:2:3:4 with yerrorlines title "baseline (n = 3)", "path-independent-L256.dat" using 1:2:3:4 with yerrorlines title "path-independent (n = 3)"
unset multiplot
