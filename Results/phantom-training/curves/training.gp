if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1100,800 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1100,800 enhanced font "sans,10" }
set output "training.".fmt
set grid
set multiplot layout 2,2
set key top right
set xlabel "epoch"; set ylabel "training loss"
plot "exact.dat" using 1:3 with linespoints title "exact", "phantom-k-5-0.5.dat" using 1:3 with linespoints title "phantom k=5 λ=0.5", "phantom-k-5-0.8.dat" using 1:3 with linespoints title "phantom k=5 λ=0.8", "jacobian-free.dat" using 1:3 with linespoints title "jacobian-free"
set xlabel "wall seconds"; set ylabel "training loss"
plot "exact.dat" using 2:3 with linespoints title "exact", "phantom-k-5-0.5.dat" using 2:3 with linespoints title "phantom k=5 λ=0.5", "phantom-k-5-0.8.dat" using 2:3 with linespoints title "phantom k=5 λ=0.8", "jacobian-free.dat" using 2:3 with linespoints title "jacobian-free"
set key bottom right
set xlabel "epoch"; set ylabel "test accuracy"; set yrange [0:1]
plot "exact.dat" using 1:5 with linespoints title "exact", "phantom-k-5-0.5.dat" using 1:5 with linespoints title "phantom k=5 λ=0.5", "phantom-k-5-0.8.dat" using 1:5 with linespoints title "phantom k=5 λ=0.8", "jacobian-free.dat" using 1:5 with linespoints title "jacobian-free"
set xlabel "wall seconds"; set ylabel "test accuracy"
plot "exact.dat" using 2:5 with linespoints title "exact", "phantom-k-5-0.5.dat" using 2:5 with linespoints title "phantom k=5 λ=0.5", "phantom-k-5-0.8.dat" using 2:5 with linespoints title "phantom k=5 λ=0.8", "jacobian-free.dat" using 2:5 with linespoints title "jacobian-free"
unset multiplot
